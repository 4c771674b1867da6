/**
 * OpenAI error bodies ⇄ IR errors. Statuses follow openai-node's `APIError.generate` mapping so SDK users get the
 * right exception class.
 *
 * @see https://platform.openai.com/docs/guides/error-codes
 */
import type { IrError, IrErrorKind } from '../ir.js';
import { errorKindFromStatus, isRecord, own, messageFromText, STATUS_OF_KIND, str, tryParseJson, type JsonObject } from '../util.js';

const KIND_OF_TYPE: Readonly<Record<string, IrErrorKind>> = {
  invalid_request_error: 'invalid_request',
  authentication_error: 'authentication',
  permission_error: 'permission',
  not_found_error: 'not_found',
  rate_limit_error: 'rate_limit',
  insufficient_quota: 'rate_limit',
  server_error: 'server',
  api_error: 'server',
};

const TYPE_OF_KIND: Readonly<Record<IrErrorKind, string>> = {
  invalid_request: 'invalid_request_error',
  authentication: 'authentication_error',
  permission: 'permission_error',
  not_found: 'invalid_request_error',
  request_too_large: 'invalid_request_error',
  rate_limit: 'rate_limit_error',
  timeout: 'api_error',
  overloaded: 'api_error',
  server: 'api_error',
};

/**
 * Reads an upstream error response (status + body: its text, or already-parsed JSON) into the IR. Copes with the variants
 * OpenAI-compatible servers send: `{error:{message,…}}`, `{error:"…"}`, `{message,…}` and plain text.
 * `status` 0 means the error arrived inside a 200 stream; the status then comes from the error type.
 */
export function parseUpstreamError(status: number, body: unknown): IrError {
  const json = typeof body === 'string' ? tryParseJson(body) : body;
  let message: string | undefined;
  let type: string | undefined;
  let code: string | undefined;
  let param: string | undefined;
  if (isRecord(json)) {
    const e = json['error'];
    const src: JsonObject = isRecord(e) ? e : json;
    message = typeof e === 'string' ? e : str(src['message']);
    type = str(src['type']);
    const c = src['code'];
    code = typeof c === 'string' ? c : typeof c === 'number' ? String(c) : undefined;
    param = str(src['param']);
  }
  const kindFromType = type !== undefined ? own(KIND_OF_TYPE, type) : undefined;
  const kind = status > 0 ? errorKindFromStatus(status) : kindFromType ?? 'server';
  const err: IrError = {
    status: status > 0 ? status : STATUS_OF_KIND[kind],
    kind,
    message: message ?? messageFromText(status, typeof body === 'string' ? body : ''),
  };
  if (type !== undefined) err.providerType = type;
  if (code !== undefined) err.code = code;
  if (param !== undefined) err.param = param;
  return err;
}

/** Renders an IR error as OpenAI's `{error:{message,type,param,code}}` with its HTTP status. */
export function renderError(err: IrError): { status: number; body: JsonObject } {
  return {
    status: err.status,
    body: { error: { message: err.message, type: TYPE_OF_KIND[err.kind], param: err.param ?? null, code: err.code ?? null } },
  };
}
