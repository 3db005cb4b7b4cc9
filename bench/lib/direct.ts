// The direct reference: a container of the function under test that the bench starts and listens for
// itself, called over the connections it dials in with nothing in between (no gateway, no proxy).
import { rm } from 'node:fs/promises';
import { request } from 'node:http';
import { DialInAgent } from '../../runtime/dial-in.ts';
import type { BenchContext } from './context.ts';
import {
  DIAL_IN_LIMITS,
  makeSocketDir,
  rawPlacement,
  runRawContainer,
  type RawContainer,
} from './raw-container.ts';

export class DirectContainer {
  private constructor(
    /**
     * Hands out the container's dialed-in connections, as the gateway's does for its own container.
     * Whoever takes one closes it when done, rather than leave it in the agent's free list.
     */
    readonly agent: DialInAgent,
    private readonly container: RawContainer,
  ) {}

  get id(): string {
    return this.container.id;
  }

  /** Listen, start the container, wait for its first health answer over a dialed-in connection. */
  static async start(ctx: BenchContext, fnDir: string): Promise<DirectContainer> {
    const at = await rawPlacement(ctx, fnDir);
    await makeSocketDir(at.socketDir);
    const agent = new DialInAgent(at.socketPath, DIAL_IN_LIMITS);
    try {
      await agent.listen();
      const container = await runRawContainer(ctx, at, () => healthz(agent));
      return new DirectContainer(agent, container);
    } catch (err) {
      // also fails a health check still waiting for a connection
      agent.close(err as Error);
      await rm(at.socketDir, { recursive: true, force: true });
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.agent.close(new Error('the direct reference was stopped'));
    await this.container.remove();
  }
}

function healthz(agent: DialInAgent): Promise<void> {
  return new Promise((resolve, reject) => {
    // `connection: close`: a connection left in the agent's free list would count as idle to the
    // container, which would then dial no other for those asking the agent directly (load.ts).
    const req = request(
      { socketPath: agent.socketPath, agent, path: '/healthz', headers: { connection: 'close' } },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200
            ? resolve()
            : reject(new Error(`the direct container's health check answered ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}
