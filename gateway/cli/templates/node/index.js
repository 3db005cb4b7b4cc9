// __NAME__: answers POST /functions/__NAME__/invoke with JSON, and any request to /function/__NAME__
// with a plain-text page. Loaded once per container; each call runs handler(event, context).
export default async function handler(event, context) {
  // /function/__NAME__/...: the event is the HTTP request, the answer sets status, headers and body
  if (context.trigger.kind === 'http' && context.trigger.route === 'function') {
    return {
      statusCode: 200,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: `hello from ${context.functionName} (${event.method} ${event.path})\n`,
    };
  }
  // /functions/__NAME__/invoke: the event is the JSON body (null when empty), the result the JSON answer
  const name = typeof event?.name === 'string' && event.name ? event.name : 'world';
  return { message: `hello, ${name}`, invocationId: context.invocationId };
}
