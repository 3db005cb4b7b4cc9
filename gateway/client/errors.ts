// The errors a TitanClient call throws: the gateway said no (ApiError), or nothing answered.

/** The gateway answered with an error body `{ error: { code, message } }` (or something unexpected). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** Nothing answered at the URL: the gateway is not running there. */
export class GatewayUnreachableError extends Error {
  readonly url: string;
  constructor(url: string, reason: string) {
    super(
      reason === 'ECONNREFUSED'
        ? `no gateway at ${url} (start one with \`titan serve\` or \`npm start\`)`
        : `cannot reach a gateway at ${url} (${reason}); start one with \`titan serve\` or set TITAN_URL`,
    );
    this.name = 'GatewayUnreachableError';
    this.url = url;
  }
}

/** A failed fetch as GatewayUnreachableError: undici reports every network failure as "fetch failed", the reason is in the cause. */
export function unreachable(url: string, err: unknown): GatewayUnreachableError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return new GatewayUnreachableError(url, cause?.code ?? cause?.message ?? (err as Error).message);
}
