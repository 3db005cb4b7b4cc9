// Types for Titan Functions handlers, written into the folder by `titan new` (its source is
// gateway/cli/templates/typescript/titan.ts in the titan-functions repository, checked there against
// the gateway's own types). Types only: import them with `import type`; nothing of this file runs.

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

/** What started the invocation: `context.trigger`. */
export type Trigger =
  /** POST /functions/<name>/invoke */
  | { kind: 'http' }
  /** a request to /function/<name>/<path> */
  | { kind: 'http'; route: 'function'; method: HttpMethod; path: string }
  /** an event on a topic the manifest's triggers name */
  | { kind: 'event'; topic: string; eventType: string; messageId: string }
  /** POST /functions/<name>/invoke?async=true */
  | { kind: 'async' }
  /** the manifest's `schedule:`: the tick's time (ISO), the schedule as written, whether it is a missed tick caught up */
  | { kind: 'schedule'; scheduledAt: string; schedule: string; catchUp: boolean };

/** The handler's second argument. */
export interface Context {
  invocationId: string;
  functionName: string;
  /** epoch ms after which the call is cut off */
  deadline: number;
  trigger: Trigger;
  /** the manifest's `config:`, frozen */
  config: Readonly<Record<string, unknown>>;
  /** publish an event once the invocation succeeds */
  emit(topic: string, type: string, data?: unknown): void;
}

/** A handler: the module's default export, or its export named `handler`. */
export type Handler<E = unknown, R = unknown> = (event: E, context: Context) => R | Promise<R>;

/** The event of an invocation through a trigger (`context.trigger.kind === 'event'`). */
export interface StreamEvent<T = unknown> {
  id: string;
  topic: string;
  type: string;
  data: T;
  source?: string;
  time?: string;
}

/** The event for a call to `/function/<name>/...`: the HTTP request. */
export interface HttpFunctionEvent {
  method: HttpMethod;
  /** the part after the function's name, as sent (percent-encoding kept); `/` when there is none */
  path: string;
  /** the query string as sent, without `?`; `''` when there is none */
  rawQuery: string;
  /** the query decoded (`+` is a space); a key given more than once has an array of its values */
  query: Record<string, string | string[]>;
  /** lower-case names; repeated headers joined with `, ` */
  headers: Record<string, string>;
  /** the body as text when it is UTF-8, else base64 with isBase64Encoded; `''` when there is none */
  body: string;
  isBase64Encoded: boolean;
}

/** An answer to a `/function/<name>` call that sets the status, headers and body (any other value is a 200 JSON answer). */
export interface HttpFunctionAnswer {
  /** 200-599 */
  statusCode: number;
  /** a list is sent as one field, its values joined with `, ` */
  headers?: Record<string, string | string[]>;
  /** text, or base64 with isBase64Encoded; none for 204, 205 and 304 */
  body?: string | null;
  isBase64Encoded?: boolean;
}
