import { ERROR_CATALOG, type ErrorCode } from './catalog.js';

/** Options for a {@link GatewayError}. */
export interface GatewayErrorOptions {
  /** The request parameter at fault, rendered as OpenAI's `param`. */
  param?: string;
  /** Extra response headers, e.g. `retry-after` on a 429. */
  headers?: Record<string, string>;
  /** When true the body carries no `code` (the contract's legacy oversize-body form). */
  omitCode?: boolean;
  cause?: unknown;
}

/**
 * The one error type for answers the gateway makes itself ("local replies").
 * Stages throw it; `errors/render.ts` turns it into the client protocol's body.
 */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: string;
  readonly param: string | undefined;
  readonly headers: Record<string, string> | undefined;
  readonly omitCode: boolean;

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const entry = ERROR_CATALOG[code];
    this.name = 'GatewayError';
    this.code = code;
    this.status = entry.status;
    this.type = entry.type;
    this.param = options.param;
    this.headers = options.headers;
    this.omitCode = options.omitCode ?? false;
  }
}

/** True for a {@link GatewayError}. */
export function isGatewayError(err: unknown): err is GatewayError {
  return err instanceof GatewayError;
}
