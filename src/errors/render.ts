import type { GatewayError } from './gateway-error.js';

/** Which wire shape an error body takes: the client's protocol (CONTRACT §4.2, §3.7, §3.8). */
export type ErrorSurface = 'openai' | 'anthropic' | 'gemini' | 'ditto';

/** A rendered local reply: status, extra headers and the serialized JSON body. */
export interface RenderedError {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const GEMINI_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 402: 'RESOURCE_EXHAUSTED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND',
  413: 'INVALID_ARGUMENT', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 501: 'UNIMPLEMENTED',
  502: 'UNAVAILABLE', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
};

/** Serialize a {@link GatewayError} in the given surface's error shape. Never throws. */
export function renderError(err: GatewayError, surface: ErrorSurface): RenderedError {
  const headers = err.headers ?? {};
  let body: unknown;
  switch (surface) {
    case 'anthropic':
      body = { type: 'error', error: { type: anthropicType(err.status), message: err.message } };
      break;
    case 'gemini':
      body = { error: { code: err.status, message: err.message, status: GEMINI_STATUS[err.status] ?? 'UNKNOWN' } };
      break;
    case 'ditto':
      body = { error: { code: err.code, message: err.message } };
      break;
    default: {
      const e: Record<string, unknown> = { message: err.message, type: err.type };
      if (err.param !== undefined) e['param'] = err.param;
      if (!err.omitCode) e['code'] = err.code;
      body = { error: e };
    }
  }
  return { status: err.status, headers, body: JSON.stringify(body) };
}

function anthropicType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 413) return 'request_too_large';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return status === 529 ? 'overloaded_error' : 'api_error';
  return 'invalid_request_error';
}

const STREAM_FAILED = 'the upstream stream failed before it finished';

/**
 * The in-stream error event for a stream that broke after its headers were sent, in the client's
 * protocol: OpenAI `data: {"error":…}`, Anthropic `event: error`, Gemini `data: {"error":{code,…}}`.
 */
export function renderStreamError(surface: ErrorSurface): Buffer {
  switch (surface) {
    case 'anthropic':
      return Buffer.from(`event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'api_error', message: STREAM_FAILED } })}\n\n`);
    case 'gemini':
      return Buffer.from(`data: ${JSON.stringify({ error: { code: 502, message: STREAM_FAILED, status: 'UNAVAILABLE' } })}\n\n`);
    default:
      return Buffer.from(`data: ${JSON.stringify({ error: { message: STREAM_FAILED, type: 'api_error', code: 'upstream_failure' } })}\n\n`);
  }
}
