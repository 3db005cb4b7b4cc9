// __NAME__: answers POST /functions/__NAME__/invoke with JSON, and any request to /function/__NAME__
// with a plain-text page. Built with esbuild on deploy (types stripped); check them with `npx tsc --noEmit`.
import type { Context, HttpFunctionAnswer, HttpFunctionEvent } from './titan.ts';

export interface Greeting {
  message: string;
  invocationId: string;
}

export default async function handler(
  event: unknown,
  context: Context,
): Promise<Greeting | HttpFunctionAnswer> {
  // /function/__NAME__/...: the event is the HTTP request, the answer sets status, headers and body
  if (context.trigger.kind === 'http' && 'route' in context.trigger) {
    const request = event as HttpFunctionEvent;
    return {
      statusCode: 200,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: `hello from ${context.functionName} (${request.method} ${request.path})\n`,
    };
  }
  // /functions/__NAME__/invoke: the event is the JSON body (null when empty), the result the JSON answer
  const name = (event as { name?: unknown } | null)?.name;
  return {
    message: `hello, ${typeof name === 'string' && name ? name : 'world'}`,
    invocationId: context.invocationId,
  };
}
