/**
 * Header hygiene for the passthrough (CONTRACT §3.3): which client headers reach an upstream, how
 * backend headers and the request id are layered on, and which upstream headers reach the client.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attemptHeaders, relayResponseHeaders, sanitizeRequestHeaders } from '../../src/upstream/headers.js';

const STRIPPED = [
  'authorization', 'x-api-key', 'x-litellm-api-key', 'proxy-authorization', 'x-forwarded-authorization',
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'x-ditto-virtual-key', 'x-ditto-protocol', 'x-ditto-cache-bypass', 'x-ditto-bypass-cache', 'x-ditto-skip-mcp',
  'content-length', 'host', 'expect', 'x-request-id',
];

test('sanitizeRequestHeaders strips credentials, hop-by-hop and gateway controls', () => {
  const input: Record<string, string> = {};
  for (const n of STRIPPED) input[n] = `v-${n}`;
  input['connection'] = 'keep-alive';
  const out = sanitizeRequestHeaders(input);
  assert.deepEqual(out, {});
});

test('sanitizeRequestHeaders keeps everything else, multi-valued headers included', () => {
  const out = sanitizeRequestHeaders({
    'content-type': 'application/json',
    'openai-organization': 'org-1',
    'openai-beta': 'assistants=v2',
    traceparent: '00-abc-def-01',
    'user-agent': 'sdk/1',
    'x-stainless-lang': 'js',
    'set-cookie': ['a=1', 'b=2'],
    'x-authorization-hint': 'not a credential header',
  });
  assert.deepEqual(out, {
    'content-type': 'application/json',
    'openai-organization': 'org-1',
    'openai-beta': 'assistants=v2',
    traceparent: '00-abc-def-01',
    'user-agent': 'sdk/1',
    'x-stainless-lang': 'js',
    'set-cookie': ['a=1', 'b=2'],
    'x-authorization-hint': 'not a credential header',
  });
});

test('headers the Connection header lists are hop-by-hop too (RFC 9110 §7.6.1)', () => {
  const out = sanitizeRequestHeaders({
    connection: 'Keep-Alive, X-Hop-A,x-hop-b , close',
    'x-hop-a': '1',
    'x-hop-b': '2',
    'x-end-to-end': '3',
  });
  assert.deepEqual(out, { 'x-end-to-end': '3' });
  const resp = relayResponseHeaders({ connection: 'x-up-hop', 'x-up-hop': 'h', 'x-kept': 'k' });
  assert.deepEqual(resp, { 'x-kept': 'k' });
});

test('sanitizeRequestHeaders does not modify its input', () => {
  const input = { authorization: 'Bearer x', 'x-a': '1' };
  sanitizeRequestHeaders(input);
  assert.deepEqual(input, { authorization: 'Bearer x', 'x-a': '1' });
});

test('attemptHeaders: backend headers overwrite the client\'s, then x-request-id is the request id', () => {
  const base = sanitizeRequestHeaders({ 'x-org': 'client', 'openai-organization': 'org-client', 'x-only-client': 'c', 'x-request-id': 'client-rid' });
  const out = attemptHeaders(base, { 'x-org': 'backend', authorization: 'Bearer sk-up', 'x-request-id': 'backend-tries' }, 'ditto-1-1');
  assert.deepEqual(out, {
    'x-org': 'backend',
    'openai-organization': 'org-client',
    'x-only-client': 'c',
    authorization: 'Bearer sk-up',
    'x-request-id': 'ditto-1-1',
  });
  // Each attempt gets a fresh object: the base is shared across attempts.
  assert.deepEqual(base, { 'x-org': 'client', 'openai-organization': 'org-client', 'x-only-client': 'c' });
});

test('relayResponseHeaders drops hop-by-hop headers and keeps the rest, undefined values skipped', () => {
  const out = relayResponseHeaders({
    connection: 'keep-alive',
    'keep-alive': 'timeout=5',
    'transfer-encoding': 'chunked',
    'proxy-authenticate': 'Basic',
    'proxy-connection': 'x',
    te: 'x',
    trailer: 'x',
    upgrade: 'h2c',
    'content-type': 'application/json',
    'content-length': '10',
    'set-cookie': ['a=1', 'b=2'],
    'x-request-id': 'upstream-rid',
    'openai-processing-ms': '12',
    'x-missing': undefined,
  });
  assert.deepEqual(out, {
    'content-type': 'application/json',
    'content-length': '10',
    'set-cookie': ['a=1', 'b=2'],
    'x-request-id': 'upstream-rid',
    'openai-processing-ms': '12',
  });
});
