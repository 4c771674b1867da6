/**
 * The error catalog and its rendering (CONTRACT §4.2, §7.1; STYLE §3.4 item 4): every code has a
 * status and a type that match the contract and map to the right openai-node exception class, and
 * `renderError` produces each surface's wire shape.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  APIError, AuthenticationError, BadRequestError, ConflictError, InternalServerError, NotFoundError,
  PermissionDeniedError, RateLimitError, UnprocessableEntityError,
} from 'openai';
import { ERROR_CATALOG, type ErrorCode } from '../../src/errors/catalog.js';
import { GatewayError, isGatewayError } from '../../src/errors/gateway-error.js';
import { renderError, type ErrorSurface } from '../../src/errors/render.js';

const CODES = Object.keys(ERROR_CATALOG) as ErrorCode[];

/** The contract's status and type for the OpenAI-surface codes it names (§4.2, with §7.1's 413). */
const CONTRACT: Record<string, { status: number; type: string }> = {
  invalid_json: { status: 400, type: 'invalid_request_error' },
  invalid_request: { status: 400, type: 'invalid_request_error' },
  cost_budget_unsupported_endpoint: { status: 400, type: 'invalid_request_error' },
  unsupported_idempotency: { status: 400, type: 'invalid_request_error' },
  invalid_mcp_request: { status: 400, type: 'invalid_request_error' },
  invalid_mcp_server: { status: 400, type: 'invalid_request_error' },
  invalid_api_key: { status: 401, type: 'authentication_error' },
  budget_exceeded: { status: 402, type: 'insufficient_quota' },
  cost_budget_exceeded: { status: 402, type: 'insufficient_quota' },
  guardrail_rejected: { status: 403, type: 'policy_error' },
  model_not_found: { status: 404, type: 'invalid_request_error' },
  response_not_found: { status: 404, type: 'invalid_request_error' },
  file_not_found: { status: 404, type: 'invalid_request_error' },
  batch_not_found: { status: 404, type: 'invalid_request_error' },
  video_not_found: { status: 404, type: 'invalid_request_error' },
  request_id_conflict: { status: 409, type: 'invalid_request_error' },
  request_id_replay_unavailable: { status: 409, type: 'invalid_request_error' },
  request_too_large: { status: 413, type: 'invalid_request_error' },
  rate_limited: { status: 429, type: 'rate_limit_error' },
  inflight_limit: { status: 429, type: 'rate_limit_error' },
  inflight_limit_key: { status: 429, type: 'rate_limit_error' },
  inflight_limit_backend: { status: 429, type: 'rate_limit_error' },
  pricing_not_configured: { status: 500, type: 'api_error' },
  storage_error: { status: 500, type: 'api_error' },
  unsupported_endpoint: { status: 501, type: 'invalid_request_error' },
  backend_error: { status: 502, type: 'api_error' },
  backend_not_found: { status: 502, type: 'api_error' },
  invalid_backend_response: { status: 502, type: 'api_error' },
  invalid_responses_request: { status: 502, type: 'api_error' },
  invalid_tool_arguments_json: { status: 502, type: 'api_error' },
  mcp_auto_exec_limit_exceeded: { status: 502, type: 'api_error' },
  upstream_failure: { status: 502, type: 'api_error' },
  request_dedup_snapshot_failed: { status: 502, type: 'api_error' },
  request_dedup_missing_outcome: { status: 502, type: 'api_error' },
  request_dedup_unavailable: { status: 503, type: 'api_error' },
  backend_timeout: { status: 504, type: 'api_error' },
};

const TYPES = new Set(['invalid_request_error', 'authentication_error', 'insufficient_quota', 'policy_error', 'permission_error', 'rate_limit_error', 'api_error']);

test('every catalog code has an error status (400-599), a known type and a snake_case name', () => {
  assert.ok(CODES.length > 0);
  for (const code of CODES) {
    const { status, type } = ERROR_CATALOG[code];
    assert.match(code, /^[a-z][a-z0-9_]*$/, code);
    assert.ok(Number.isInteger(status) && status >= 400 && status <= 599, `${code}: status ${status}`);
    assert.ok(TYPES.has(type), `${code}: type ${type}`);
  }
});

test('codes the contract names carry the contract\'s status and type', () => {
  for (const code of CODES) {
    const want = CONTRACT[code];
    if (want) assert.deepEqual({ ...ERROR_CATALOG[code] }, want, code);
  }
  // The codes this gateway already answers with must all be in the catalog.
  for (const code of ['invalid_json', 'invalid_request', 'invalid_api_key', 'request_too_large', 'inflight_limit', 'backend_error', 'backend_not_found', 'backend_timeout']) {
    assert.ok(code in ERROR_CATALOG, `${code} missing from the catalog`);
  }
});

test('statuses by type follow the taxonomy: 401 authentication, 429 rate limit, 5xx api_error', () => {
  for (const code of CODES) {
    const { status, type } = ERROR_CATALOG[code];
    if (type === 'authentication_error') assert.equal(status, 401, code);
    if (type === 'rate_limit_error') assert.equal(status, 429, code);
    if (status === 401) assert.equal(type, 'authentication_error', code);
    if (status === 429) assert.equal(type, 'rate_limit_error', code);
    if (status >= 500 && status !== 501) assert.equal(type, 'api_error', code);
  }
});

/** The openai-node class a status turns into (its `APIError.generate`). */
function sdkClass(status: number): abstract new (...args: never[]) => APIError {
  switch (status) {
    case 400: return BadRequestError;
    case 401: return AuthenticationError;
    case 403: return PermissionDeniedError;
    case 404: return NotFoundError;
    case 409: return ConflictError;
    case 422: return UnprocessableEntityError;
    case 429: return RateLimitError;
    default: return status >= 500 ? InternalServerError : APIError;
  }
}

test('each code\'s OpenAI body becomes the right SDK exception with code and type intact', () => {
  for (const code of CODES) {
    const err = new GatewayError(code, `message for ${code}`);
    const r = renderError(err, 'openai');
    const body = JSON.parse(r.body) as { error: Record<string, unknown> };
    const sdkErr = APIError.generate(r.status, body, undefined, new Headers({ 'x-request-id': 'rid-1' }));
    assert.ok(sdkErr instanceof sdkClass(r.status), `${code} → ${sdkErr.constructor.name}`);
    assert.equal(sdkErr.status, ERROR_CATALOG[code].status);
    assert.equal(sdkErr.code, code);
    assert.equal(sdkErr.type, ERROR_CATALOG[code].type);
    assert.equal(sdkErr.requestID, 'rid-1');
    assert.match(sdkErr.message, new RegExp(`message for ${code}`));
  }
});

test('GatewayError takes status and type from the catalog and keeps param, headers and cause', () => {
  const cause = new Error('root cause');
  const e = new GatewayError('inflight_limit', 'busy', { headers: { 'retry-after': '1' }, param: 'model', cause });
  assert.ok(isGatewayError(e));
  assert.ok(!isGatewayError(new Error('x')));
  assert.equal(e.status, 429);
  assert.equal(e.type, 'rate_limit_error');
  assert.equal(e.code, 'inflight_limit');
  assert.equal(e.param, 'model');
  assert.deepEqual(e.headers, { 'retry-after': '1' });
  assert.equal(e.cause, cause);
  assert.equal(e.omitCode, false);
  assert.equal(e.name, 'GatewayError');
});

test('renderError openai: {error:{message,type,param?,code}}; omitCode drops code; headers pass through', () => {
  const plain = renderError(new GatewayError('invalid_api_key', 'missing virtual key'), 'openai');
  assert.equal(plain.status, 401);
  assert.deepEqual(JSON.parse(plain.body), { error: { message: 'missing virtual key', type: 'authentication_error', code: 'invalid_api_key' } });
  assert.deepEqual(plain.headers, {});
  const withParam = renderError(new GatewayError('invalid_request', 'bad', { param: 'messages', headers: { 'x-a': '1' } }), 'openai');
  assert.deepEqual(JSON.parse(withParam.body), { error: { message: 'bad', type: 'invalid_request_error', param: 'messages', code: 'invalid_request' } });
  assert.deepEqual(withParam.headers, { 'x-a': '1' });
  const noCode = renderError(new GatewayError('invalid_request', 'too big', { omitCode: true }), 'openai');
  assert.deepEqual(JSON.parse(noCode.body), { error: { message: 'too big', type: 'invalid_request_error' } });
});

test('renderError anthropic: {type:"error",error:{type,message}} with Anthropic\'s type per status', () => {
  const want: Record<number, string> = {
    400: 'invalid_request_error', 401: 'authentication_error', 404: 'not_found_error', 413: 'request_too_large',
    429: 'rate_limit_error', 500: 'api_error', 501: 'api_error', 502: 'api_error', 503: 'api_error', 504: 'api_error',
  };
  for (const code of CODES) {
    const err = new GatewayError(code, `m-${code}`);
    const r = renderError(err, 'anthropic');
    assert.equal(r.status, err.status);
    const body = JSON.parse(r.body) as { type: string; error: { type: string; message: string } };
    assert.deepEqual(Object.keys(body), ['type', 'error']);
    assert.equal(body.type, 'error');
    assert.deepEqual(Object.keys(body.error).sort(), ['message', 'type']);
    assert.equal(body.error.message, `m-${code}`);
    const expected = want[err.status] ?? (err.status === 403 ? 'permission_error' : 'invalid_request_error');
    assert.equal(body.error.type, expected, `${code} (${err.status})`);
  }
});

test('renderError gemini: {error:{code:<status>,message,status:<RPC status>}}', () => {
  const rpc: Record<number, string> = {
    400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 413: 'INVALID_ARGUMENT',
    429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 501: 'UNIMPLEMENTED', 502: 'UNAVAILABLE', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
  };
  for (const code of CODES) {
    const err = new GatewayError(code, `g-${code}`);
    const r = renderError(err, 'gemini');
    const body = JSON.parse(r.body) as { error: { code: number; message: string; status: string } };
    assert.deepEqual(body, { error: { code: err.status, message: `g-${code}`, status: rpc[err.status] ?? body.error.status } });
    assert.notEqual(body.error.status, 'UNKNOWN', `${code}: status ${err.status} has an RPC status`);
  }
});

test('renderError ditto: {error:{code,message}} and nothing else', () => {
  for (const code of CODES) {
    const r = renderError(new GatewayError(code, `d-${code}`, { param: 'ignored' }), 'ditto');
    assert.deepEqual(JSON.parse(r.body), { error: { code, message: `d-${code}` } });
    assert.equal(r.status, ERROR_CATALOG[code].status);
  }
});

test('rendering never throws and escapes whatever the message holds', () => {
  const nasty = 'quote " backslash \\ newline \n nul \u0000 emoji \u{1F600} lone surrogate \ud800';
  const cyclic: Record<string, unknown> = {};
  cyclic['self'] = cyclic;
  const surfaces: ErrorSurface[] = ['openai', 'anthropic', 'gemini', 'ditto'];
  for (const s of surfaces) {
    const r = renderError(new GatewayError('internal_error', nasty, { cause: cyclic }), s);
    const text = JSON.stringify(JSON.parse(r.body));
    assert.ok(text.includes('backslash'), s);
    assert.ok(!r.body.includes('\n'), `${s}: the body is one line`);
  }
});
