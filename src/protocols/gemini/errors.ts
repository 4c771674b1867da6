/**
 * Gemini error bodies `{error:{code,message,status}}` (google.rpc.Status) ⇄ IR errors.
 *
 * @see https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes
 */
import type { IrError, IrErrorKind } from '../ir.js';
import { errorKindFromStatus, isRecord, own, messageFromText, num, STATUS_OF_KIND, str, tryParseJson, type JsonObject } from '../util.js';

const KIND_OF_STATUS: Readonly<Record<string, IrErrorKind>> = {
  INVALID_ARGUMENT: 'invalid_request',
  FAILED_PRECONDITION: 'invalid_request',
  OUT_OF_RANGE: 'invalid_request',
  UNAUTHENTICATED: 'authentication',
  PERMISSION_DENIED: 'permission',
  NOT_FOUND: 'not_found',
  RESOURCE_EXHAUSTED: 'rate_limit',
  INTERNAL: 'server',
  UNKNOWN: 'server',
  UNAVAILABLE: 'overloaded',
  DEADLINE_EXCEEDED: 'timeout',
};

const STATUS_OF_KIND_NAME: Readonly<Record<IrErrorKind, string>> = {
  invalid_request: 'INVALID_ARGUMENT',
  authentication: 'UNAUTHENTICATED',
  permission: 'PERMISSION_DENIED',
  not_found: 'NOT_FOUND',
  request_too_large: 'INVALID_ARGUMENT',
  rate_limit: 'RESOURCE_EXHAUSTED',
  timeout: 'DEADLINE_EXCEEDED',
  overloaded: 'UNAVAILABLE',
  server: 'INTERNAL',
};

/**
 * Reads an upstream error (status + body text or parsed JSON; Google sometimes wraps it in a one-element array)
 * into the IR. `status` 0 means an error inside a 200 stream: the body's `code` is then the status.
 */
export function parseUpstreamError(status: number, body: unknown): IrError {
  let json = typeof body === 'string' ? tryParseJson(body) : body;
  if (Array.isArray(json)) json = json[0];
  const e = isRecord(json) ? json['error'] : undefined;
  const message = isRecord(e) ? str(e['message']) : undefined;
  const rpc = isRecord(e) ? str(e['status']) : undefined;
  const code = isRecord(e) ? num(e['code']) : undefined;
  const effective = status > 0 ? status : code ?? 0;
  const kind = effective > 0 ? errorKindFromStatus(effective) : (rpc !== undefined ? own(KIND_OF_STATUS, rpc) : undefined) ?? 'server';
  const err: IrError = {
    status: effective > 0 ? effective : STATUS_OF_KIND[kind],
    kind,
    message: message ?? messageFromText(status, typeof body === 'string' ? body : ''),
  };
  if (rpc !== undefined) err.providerType = rpc;
  return err;
}

/** Renders an IR error as Gemini's error body with its HTTP status. */
export function renderError(err: IrError): { status: number; body: JsonObject } {
  const rpc = err.providerType !== undefined && own(KIND_OF_STATUS, err.providerType) !== undefined ? err.providerType : STATUS_OF_KIND_NAME[err.kind];
  return { status: err.status, body: { error: { code: err.status, message: err.message, status: rpc } } };
}
