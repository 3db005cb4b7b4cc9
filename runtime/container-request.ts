// One HTTP request to a function container over a connection it dialed in: size cap and time limit.
import { request } from 'node:http';
import type { DialInAgent } from './dial-in.ts';
import { TitanError } from './errors.ts';

/** The answer was more than the gateway passes on; the connection is dropped, the container stays. */
export class ResponseTooLargeError extends TitanError {
  constructor(limit: number) {
    super(
      'invalid_response',
      `the function's answer is larger than the ${limit}-byte limit (sandbox.max_response_bytes)`,
      { max_response_bytes: limit },
    );
  }
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * Rejects with ResponseTooLargeError past `max` bytes, with `limit.cut()` once `limit.ms` passed
 * (the request is cut), or with the socket's error.
 */
export function send(
  agent: DialInAgent,
  max: number,
  method: string,
  path: string,
  body?: string,
  limit?: { ms: number; cut: () => Error },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    const req = request(
      {
        // The agent hands out the connections the container dialed; the path only names them.
        socketPath: agent.socketPath,
        agent: agent,
        method,
        path,
        headers:
          body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const declared = Number(res.headers['content-length']);
        if (declared > max) return req.destroy(new ResponseTooLargeError(max));
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > max) req.destroy(new ResponseTooLargeError(max));
          else chunks.push(chunk);
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            // One chunk (a small answer) is decoded as it is, without a copy.
            body: (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)).toString('utf8'),
          });
        });
        res.on('error', fail);
      },
    );
    // Rejects itself: a request still waiting for a dialed-in connection emits nothing when destroyed.
    if (limit)
      timer = setTimeout(() => {
        const err = limit.cut();
        req.destroy(err);
        fail(err);
      }, limit.ms);
    req.on('error', fail);
    req.end(body);
  });
}
