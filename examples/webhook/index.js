// A webhook receiver on /function/webhook: the sender signs the raw body with a shared secret and
// sends `x-hub-signature-256: sha256=<hex HMAC-SHA256>` (GitHub's convention; Stripe and others do
// the same with their own header). The signature is checked over the bytes as sent, before the body
// is parsed: a re-serialised JSON body would not match.
import { createHmac, timingSafeEqual } from 'node:crypto';

const json = (statusCode, value) => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(value),
});

/** Compares in constant time: a byte-by-byte early exit would tell an attacker how much was right. */
function sameSignature(given, expected) {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export default async function handler(event) {
  const secret = process.env.WEBHOOK_SECRET;
  if (!secret) throw new Error('WEBHOOK_SECRET is not set in the manifest (env:)');
  const raw = Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  const expected = `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
  const given = event.headers['x-hub-signature-256'] ?? '';
  if (!sameSignature(given, expected))
    return json(401, { error: 'the x-hub-signature-256 header does not match the body' });

  let payload;
  try {
    payload = JSON.parse(raw.toString('utf8'));
  } catch {
    return json(400, { error: 'the body is not JSON' });
  }
  // A real receiver would queue the work (context.emit) and answer at once: senders time out fast.
  return json(202, {
    accepted: true,
    event: event.headers['x-github-event'] ?? null,
    delivery: event.headers['x-github-delivery'] ?? null,
    action: payload?.action ?? null,
  });
}
