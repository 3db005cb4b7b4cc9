// A minimal node:http proxy to a container's socket: the floor for any gateway written in Node.
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

const socketPath = process.argv[2]!;
const agent = new Agent({ keepAlive: true, maxFreeSockets: 256 });
let n = 0;

// Read the body, wrap it in the bootstrap's protocol, forward it over a keep-alive agent, copy the answer.
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const context = { invocationId: `proxy-${++n}`, deadline: Date.now() + 60_000, trigger: { kind: 'http' } };
    const body = `{"event":${Buffer.concat(chunks).toString('utf8') || 'null'},"context":${JSON.stringify(context)}}`;
    const up = request(
      { socketPath, agent, method: 'POST', path: '/invoke', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (answer) => {
        let text = '';
        answer.setEncoding('utf8');
        answer.on('data', (c: string) => (text += c));
        answer.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text));
      },
    );
    up.on('error', () => res.writeHead(502).end());
    up.end(body);
  });
});
server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port));
process.on('disconnect', () => process.exit(0));
