// A sequential keep-alive HTTP client that times each request (TCP, or a container's dialed-in
// connections through the DialInAgent that listens for them), for latency.
import { Agent, request, type ClientRequestArgs, type IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DialInAgent } from '../../runtime/dial-in.ts';

export interface HttpTarget {
  /** TCP (the gateway) ... */
  host?: string;
  port?: number;
  /** ... or the connections a container dialed in, handed out by the DialInAgent listening for them */
  dialIn?: DialInAgent;
  path: string;
}

export interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Times each call with performance.now(): autocannon's histogram had 1 ms resolution, too coarse for a 0.3 ms target. */
export class KeepAliveClient {
  private readonly agent: Agent;

  constructor(private readonly target: HttpTarget) {
    this.agent = target.dialIn
      ? new DialedInAgent(target.dialIn)
      : new Agent({ keepAlive: true, maxSockets: 1 });
  }

  send(body: string, path = this.target.path): Promise<HttpReply> {
    const { host, port } = this.target;
    const socketPath = this.target.dialIn?.socketPath;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host,
          port,
          socketPath,
          path,
          method: 'POST',
          agent: this.agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.setEncoding('utf8');
          let text = '';
          res.on('data', (c: string) => (text += c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /**
   * Send up to `count` requests one after another, stopping early after `maxMs`; returns each
   * request's latency in ms. A non-200 answer fails the run: a fast error is not a fast call.
   * With `rate` (per second) each starts when it is due, or as soon as the one before it answered if
   * that was later: the server and the container idle between calls as they do between paced events.
   */
  async latencies(
    count: number,
    maxMs: number,
    body: () => string,
    rate?: number,
  ): Promise<number[]> {
    const out: number[] = [];
    const start = performance.now();
    const until = start + maxMs;
    for (let i = 0; i < count && performance.now() < until; i++) {
      const wait = rate === undefined ? 0 : start + (i * 1000) / rate - performance.now();
      if (wait > 0) await sleep(wait);
      const b = body();
      const t0 = performance.now();
      const reply = await this.send(b);
      out.push(performance.now() - t0);
      if (reply.status !== 200)
        throw new Error(`${this.describe()} answered ${reply.status}: ${reply.body.slice(0, 200)}`);
    }
    return out;
  }

  describe(): string {
    const { host, port, dialIn, path } = this.target;
    return dialIn ? `dial-in:${dialIn.socketPath}${path}` : `http://${host}:${port}${path}`;
  }

  /** Closes the client's connections (a dialed-in one too: the container dials another when it has none idle). */
  close(): void {
    this.agent.destroy();
  }
}

/**
 * One keep-alive connection at a time, as for TCP, taken from the DialInAgent. Its own agent rather
 * than the DialInAgent's free list: the container counts a connection parked there as idle and dials
 * no other, so a connection left behind would stall whoever asks the DialInAgent next (load.ts).
 */
class DialedInAgent extends Agent {
  constructor(private readonly source: DialInAgent) {
    super({ keepAlive: true, maxSockets: 1 });
  }

  override createConnection(
    options: ClientRequestArgs,
    created: (err: Error | null, socket?: Duplex) => void,
  ): Duplex | undefined {
    return this.source.createConnection(options, created);
  }
}
