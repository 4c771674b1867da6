// Upstream error bodies → IR errors (status + client-safe message), and IR errors → each protocol's error body.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOLS, type IrError } from '../../src/protocols/index.js';
import { ErrorBody as AnthropicError } from '../../src/protocols/anthropic/wire.js';
import { ErrorBody as GeminiError } from '../../src/protocols/gemini/wire.js';
import { ErrorBody as OpenAiError } from '../../src/protocols/openai/wire.js';

test('openai: JSON, string, vLLM-style and non-JSON error bodies', () => {
  const p = PROTOCOLS.openai.parseUpstreamError;
  assert.deepEqual(p(429, JSON.stringify({ error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } })), {
    status: 429, kind: 'rate_limit', message: 'Rate limit reached', providerType: 'requests', code: 'rate_limit_exceeded',
  });
  assert.deepEqual(p(400, '{"error":"model is required"}'), { status: 400, kind: 'invalid_request', message: 'model is required' });
  assert.deepEqual(p(400, { object: 'error', message: 'bad temperature', type: 'BadRequestError', param: 'temperature', code: 400 }), {
    status: 400, kind: 'invalid_request', message: 'bad temperature', providerType: 'BadRequestError', code: '400', param: 'temperature',
  });
  assert.deepEqual(p(502, '<html><body>Bad Gateway</body></html>'), { status: 502, kind: 'server', message: 'upstream returned HTTP 502' });
  assert.deepEqual(p(503, ''), { status: 503, kind: 'overloaded', message: 'upstream returned HTTP 503' });
  assert.equal(p(500, 'x'.repeat(2000)).message.length, 501);
  // In-stream error (no HTTP status): the status follows the error type.
  assert.equal(p(0, { error: { message: 'slow down', type: 'rate_limit_error' } }).status, 429);
  assert.equal(p(0, { error: { message: 'boom', type: 'server_error' } }).status, 500);
});

test('anthropic: error types decide the class (billing → 403-class, overloaded → 529), in stream and out', () => {
  const p = PROTOCOLS.anthropic.parseUpstreamError;
  const body = (type: string, message: string): string => JSON.stringify({ type: 'error', error: { type, message }, request_id: 'req_011' });
  assert.deepEqual(p(529, body('overloaded_error', 'Overloaded')), { status: 529, kind: 'overloaded', message: 'Overloaded', providerType: 'overloaded_error' });
  assert.deepEqual(p(400, body('invalid_request_error', 'max_tokens: Field required')), {
    status: 400, kind: 'invalid_request', message: 'max_tokens: Field required', providerType: 'invalid_request_error',
  });
  assert.equal(p(402, body('billing_error', 'credit balance too low')).kind, 'permission');
  assert.deepEqual(p(0, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }), {
    status: 529, kind: 'overloaded', message: 'Overloaded', providerType: 'overloaded_error',
  });
  assert.deepEqual(p(413, 'Request Entity Too Large'), { status: 413, kind: 'request_too_large', message: 'Request Entity Too Large' });
});

test('gemini: google.rpc.Status bodies, array-wrapped bodies and in-stream codes', () => {
  const p = PROTOCOLS.gemini.parseUpstreamError;
  const status = { error: { code: 429, message: 'Resource has been exhausted (e.g. check quota).', status: 'RESOURCE_EXHAUSTED' } };
  assert.deepEqual(p(429, JSON.stringify(status)), { status: 429, kind: 'rate_limit', message: status.error.message, providerType: 'RESOURCE_EXHAUSTED' });
  assert.deepEqual(p(400, JSON.stringify([{ error: { code: 400, message: 'API key not valid.', status: 'INVALID_ARGUMENT' } }])), {
    status: 400, kind: 'invalid_request', message: 'API key not valid.', providerType: 'INVALID_ARGUMENT',
  });
  assert.deepEqual(p(0, { error: { code: 503, message: 'overloaded', status: 'UNAVAILABLE' } }), {
    status: 503, kind: 'overloaded', message: 'overloaded', providerType: 'UNAVAILABLE',
  });
});

test('inherited property names in error types are not treated as known types', () => {
  for (const id of ['openai', 'anthropic', 'gemini'] as const) {
    const e = PROTOCOLS[id].parseUpstreamError(0, { type: 'error', error: { type: 'constructor', status: 'toString', message: 'm' } });
    assert.equal(typeof e.kind, 'string', id);
    assert.equal(e.kind, 'server', id);
  }
});

test('renderError gives each protocol its own error shape and keeps status and message', () => {
  const errors: IrError[] = [
    { status: 400, kind: 'invalid_request', message: 'bad', param: 'messages' },
    { status: 401, kind: 'authentication', message: 'no key' },
    { status: 404, kind: 'not_found', message: 'no model' },
    { status: 429, kind: 'rate_limit', message: 'slow' },
    { status: 529, kind: 'overloaded', message: 'Overloaded', providerType: 'overloaded_error' },
    { status: 504, kind: 'timeout', message: 'late' },
  ];
  for (const err of errors) {
    const o = PROTOCOLS.openai.renderError(err);
    assert.ok(OpenAiError.safeParse(o.body).success);
    assert.equal(o.status, err.status);
    const a = PROTOCOLS.anthropic.renderError(err);
    assert.ok(AnthropicError.safeParse(a.body).success);
    const g = PROTOCOLS.gemini.renderError(err);
    assert.ok(GeminiError.safeParse(g.body).success);
    assert.equal((g.body as { error: { code: number } }).error.code, err.status);
    for (const id of ['openai', 'anthropic', 'gemini'] as const) {
      const r = PROTOCOLS[id].renderError(err);
      const back = PROTOCOLS[id].parseUpstreamError(r.status, JSON.stringify(r.body));
      assert.equal(back.status, err.status, id);
      assert.equal(back.message, err.message, id);
      assert.equal(back.kind, err.kind, `${id} ${err.kind}`);
    }
  }
  assert.deepEqual(PROTOCOLS.openai.renderError(errors[0] as IrError).body, { error: { message: 'bad', type: 'invalid_request_error', param: 'messages', code: null } });
  assert.deepEqual(PROTOCOLS.anthropic.renderError(errors[4] as IrError).body, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
  assert.deepEqual(PROTOCOLS.gemini.renderError(errors[3] as IrError).body, { error: { code: 429, message: 'slow', status: 'RESOURCE_EXHAUSTED' } });
  assert.deepEqual(PROTOCOLS.anthropic.renderError({ status: 403, kind: 'permission', message: 'no' }).body, { type: 'error', error: { type: 'permission_error', message: 'no' } });
});
