// The gateway's end of a function container's connections. The gateway listens on a unix socket in a
// directory the container sees read-only, and the container dials in; an http.Agent hands out the
// connections it dialed. So the container never writes to the host (no files, no links, no growth),
// and the gateway never connects to a path a container could have planted.
import { Agent } from 'node:http';
import { chmod } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export interface DialInLimits {
  /** connections one container may hold open; more are closed as they arrive */
  maxConnections: number;
  /** dialed-in connections not yet claimed by a request; more are closed as they arrive */
  maxSpare: number;
}

/** pool.concurrency is at most 1000; a bootstrap keeps one connection dialed beyond those in use */
export const DIAL_IN_LIMITS: DialInLimits = { maxConnections: 1024, maxSpare: 8 };

type Created = (err: Error | null, socket?: Duplex) => void;

export class DialInAgent extends Agent {
  /** connections closed on arrival because a limit was reached (a container dialing in a loop) */
  refused = 0;
  private readonly server: Server;
  private readonly spare: Socket[] = [];
  private readonly waiting: Created[] = [];
  private live = 0;
  private failure?: Error;

  constructor(
    readonly socketPath: string,
    private readonly limits: DialInLimits,
  ) {
    // The bootstrap never closes an idle connection, so free sockets stay usable between calls.
    super({ keepAlive: true, maxFreeSockets: limits.maxConnections });
    this.server = createServer((s) => this.accepted(s));
  }

  /** Listen at socketPath (its directory must exist and be the gateway's). */
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.socketPath, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    // connect(2) needs write permission on the socket, and the container runs as another non-root
    // user. The socket is the gateway's: the container can neither replace nor remove it.
    await chmod(this.socketPath, 0o666);
  }

  private accepted(s: Socket): void {
    const full =
      this.live >= this.limits.maxConnections ||
      (this.waiting.length === 0 && this.spare.length >= this.limits.maxSpare);
    if (this.failure || full) {
      this.refused++;
      s.destroy();
      return;
    }
    this.live++;
    s.on('error', () => {}); // an unclaimed connection's reset is not the gateway's error
    s.once('close', () => {
      this.live--;
      const i = this.spare.indexOf(s);
      if (i !== -1) this.spare.splice(i, 1);
    });
    const waiter = this.waiting.shift();
    if (waiter) waiter(null, s);
    else this.spare.push(s);
  }

  /**
   * Node's Agent asks for a connection here: a spare one at once, else the next one the container
   * dials. A request that gave up meanwhile gets its late connection back into the free list (Node).
   */
  override createConnection(_options: unknown, created: Created): Duplex | undefined {
    if (this.failure) {
      created(this.failure);
      return undefined;
    }
    const s = this.spare.shift();
    if (s) return s;
    this.waiting.push(created);
    return undefined;
  }

  /** No more connections: requests waiting for one fail with `err`; the socket file is removed. */
  close(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.server.close();
    for (const w of this.waiting.splice(0)) w(err);
    for (const s of this.spare.splice(0)) s.destroy();
    this.destroy();
  }
}
