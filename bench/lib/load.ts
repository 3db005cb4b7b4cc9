// Throughput at N keep-alive connections with autocannon, bounded by duration and by request count.
import autocannon from 'autocannon';

export interface LoadTarget {
  /** for a unix socket, any http:// URL with the right path: it only sets Host and the path */
  url: string;
  socketPath?: string;
  body: string;
}

export interface LoadResult {
  /** successful (2xx) requests per second */
  rps: number;
  ok: number;
  failed: number;
  seconds: number;
}

export async function load(target: LoadTarget, connections: number, durationSec: number, maxRequests: number): Promise<LoadResult> {
  const r = await autocannon({
    url: target.url,
    socketPath: target.socketPath,
    method: 'POST',
    body: target.body,
    headers: { 'content-type': 'application/json' },
    connections,
    duration: durationSec,
    maxOverallRequests: Math.max(maxRequests, connections),
    timeout: 10,
  });
  const ok = r['2xx'];
  const failed = r.non2xx + r.errors + r.timeouts;
  if (failed > 0) throw new Error(`${target.socketPath ? `unix:${target.socketPath}` : target.url}: ${failed} of ${ok + failed} requests failed at ${connections} connections`);
  return { rps: ok / r.duration, ok, failed, seconds: r.duration };
}
