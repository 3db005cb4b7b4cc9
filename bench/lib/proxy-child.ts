// A minimal node:http proxy to one container: the floor for any gateway written in Node. It owns the
// socket its container dials in to, as the gateway owns its containers' sockets.
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DialInAgent, type DialInLimits } from '../../runtime/dial-in.ts';

const socketPath = process.argv[2]!;
const agent = new DialInAgent(socketPath, JSON.parse(process.argv[3]!) as DialInLimits);
let n = 0;

// Read the body, wrap it in the bootstrap's protocol, forward it over the dialed-in connections, copy the answer.
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const context = {
      invocationId: `proxy-${++n}`,
      deadline: Date.now() + 60_000,
      trigger: { kind: 'http' },
    };
    const body = `{"event":${Buffer.concat(chunks).toString('utf8') || 'null'},"context":${JSON.stringify(context)}}`;
    const up = request(
      {
        socketPath,
        agent,
        method: 'POST',
        path: '/invoke',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (answer) => {
        let text = '';
        answer.setEncoding('utf8');
        answer.on('data', (c: string) => (text += c));
        answer.on('end', () =>
          res
            .writeHead(200, {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(text),
            })
            .end(text),
        );
      },
    );
    up.on('error', () => res.writeHead(502).end());
    up.end(body);
  });
});

// The container is started once the socket listens: the port tells the parent both.
await agent.listen();
server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port));
process.on('disconnect', () => {
  agent.close(new Error('the proxy stopped'));
  process.exit(0);
});
