// A sequential keep-alive HTTP client that times each request (TCP or unix socket), for latency.
import { Agent, request, type IncomingHttpHeaders } from 'node:http';

export interface HttpTarget {
  /** TCP (the gateway) ... */
  host?: string;
  port?: number;
  /** ... or a unix socket (a container's bootstrap) */
  socketPath?: string;
  path: string;
}

export interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** autocannon's latency histogram has 1 ms resolution, too coarse for a 0.3 ms target: hence this. */
export class KeepAliveClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });

  constructor(private readonly target: HttpTarget) {}

  send(body: string, path = this.target.path): Promise<HttpReply> {
    const { host, port, socketPath } = this.target;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host,
          port,
          socketPath,
          path,
          method: 'POST',
          agent: this.agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.setEncoding('utf8');
          let text = '';
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
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
   */
  async latencies(count: number, maxMs: number, body: () => string): Promise<number[]> {
    const out: number[] = [];
    const until = performance.now() + maxMs;
    for (let i = 0; i < count && performance.now() < until; i++) {
      const b = body();
      const t0 = performance.now();
      const reply = await this.send(b);
      out.push(performance.now() - t0);
      if (reply.status !== 200) throw new Error(`${this.describe()} answered ${reply.status}: ${reply.body.slice(0, 200)}`);
    }
    return out;
  }

  describe(): string {
    const { host, port, socketPath, path } = this.target;
    return socketPath ? `unix:${socketPath}${path}` : `http://${host}:${port}${path}`;
  }

  close(): void {
    this.agent.destroy();
  }
}
