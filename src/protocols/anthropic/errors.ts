/**
 * Anthropic error bodies `{type:"error",error:{type,message}}` ⇄ IR errors.
 *
 * @see https://docs.anthropic.com/en/api/errors
 */
import type { IrError, IrErrorKind } from '../ir.js';
import { errorKindFromStatus, isRecord, own, messageFromText, STATUS_OF_KIND, str, tryParseJson, type JsonObject } from '../util.js';

const KIND_OF_TYPE: Readonly<Record<string, IrErrorKind>> = {
  invalid_request_error: 'invalid_request',
  authentication_error: 'authentication',
  billing_error: 'permission',
  permission_error: 'permission',
  not_found_error: 'not_found',
  request_too_large: 'request_too_large',
  rate_limit_error: 'rate_limit',
  timeout_error: 'timeout',
  api_error: 'server',
  overloaded_error: 'overloaded',
};

const TYPE_OF_KIND: Readonly<Record<IrErrorKind, string>> = {
  invalid_request: 'invalid_request_error',
  authentication: 'authentication_error',
  permission: 'permission_error',
  not_found: 'not_found_error',
  request_too_large: 'request_too_large',
  rate_limit: 'rate_limit_error',
  timeout: 'timeout_error',
  overloaded: 'overloaded_error',
  server: 'api_error',
};

/**
 * Reads an upstream error (status + body text or parsed JSON) into the IR. `status` 0 means an `error` event inside a
 * 200 stream; the status then comes from the error type (`overloaded_error` → 529, as Anthropic documents).
 */
export function parseUpstreamError(status: number, body: unknown): IrError {
  const json = typeof body === 'string' ? tryParseJson(body) : body;
  const e = isRecord(json) ? json['error'] : undefined;
  const type = isRecord(e) ? str(e['type']) : undefined;
  const message = isRecord(e) ? str(e['message']) : undefined;
  const kindFromType = type !== undefined ? own(KIND_OF_TYPE, type) : undefined;
  // Anthropic's error types are precise (unlike OpenAI's), so the type decides the class when it is known.
  const kind = kindFromType ?? (status > 0 ? errorKindFromStatus(status) : 'server');
  const err: IrError = {
    status: status > 0 ? status : STATUS_OF_KIND[kind],
    kind,
    message: message ?? messageFromText(status, typeof body === 'string' ? body : ''),
  };
  if (type !== undefined) err.providerType = type;
  return err;
}

/** The Anthropic error type for an IR error (the provider's own type when it came from Anthropic). */
export function errorType(err: IrError): string {
  if (err.providerType !== undefined && own(KIND_OF_TYPE, err.providerType) === err.kind) return err.providerType;
  return TYPE_OF_KIND[err.kind];
}

/** Renders an IR error as Anthropic's error body with its HTTP status. */
export function renderError(err: IrError): { status: number; body: JsonObject } {
  return { status: err.status, body: { type: 'error', error: { type: errorType(err), message: err.message } } };
}
