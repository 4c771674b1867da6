/**
 * Virtual-key lookup (CONTRACT §4.1, §2.3): which header presents the key, and how a presented
 * token matches a configured plaintext or `sha256:` token.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { AUTH_MESSAGES, KeyIndex, presentedToken, type VirtualKey } from '../../src/auth/keys.js';
import { VirtualKeySchema } from '../../src/config/schema.js';

function key(id: string, token: string, enabled = true) {
  return VirtualKeySchema.parse({ id, token, enabled });
}

test('presentedToken: precedence x-litellm-api-key → Authorization Bearer → x-ditto-virtual-key → x-api-key', () => {
  const all = { 'x-litellm-api-key': 'L', authorization: 'Bearer A', 'x-ditto-virtual-key': 'D', 'x-api-key': 'K' };
  assert.equal(presentedToken(all), 'L');
  assert.equal(presentedToken({ ...all, 'x-litellm-api-key': undefined }), 'A');
  assert.equal(presentedToken({ 'x-ditto-virtual-key': 'D', 'x-api-key': 'K' }), 'D');
  assert.equal(presentedToken({ 'x-api-key': 'K' }), 'K');
  assert.equal(presentedToken({}), undefined);
});

test('presentedToken: Bearer is optional on x-litellm-api-key and required on Authorization', () => {
  assert.equal(presentedToken({ 'x-litellm-api-key': 'Bearer L' }), 'L');
  assert.equal(presentedToken({ 'x-litellm-api-key': 'bearer L' }), 'L');
  assert.equal(presentedToken({ 'x-litellm-api-key': 'L' }), 'L');
  assert.equal(presentedToken({ authorization: 'bearer A' }), 'A');
  assert.equal(presentedToken({ authorization: 'A' }), undefined);
  assert.equal(presentedToken({ authorization: 'Basic A' }), undefined);
  assert.equal(presentedToken({ authorization: 'BEARER A' }), undefined);
  assert.equal(presentedToken({ authorization: 'Basic A', 'x-api-key': 'K' }), 'K');
});

test('presentedToken: values are trimmed and empty ones (or a bare Bearer) count as absent', () => {
  assert.equal(presentedToken({ 'x-api-key': '  K  ' }), 'K');
  assert.equal(presentedToken({ authorization: 'Bearer   A  ' }), 'A');
  assert.equal(presentedToken({ 'x-litellm-api-key': '   ', authorization: 'Bearer A' }), 'A');
  assert.equal(presentedToken({ 'x-litellm-api-key': 'Bearer', authorization: 'Bearer A' }), 'A');
  assert.equal(presentedToken({ authorization: 'Bearer', 'x-ditto-virtual-key': 'D' }), 'D');
  assert.equal(presentedToken({ 'x-ditto-virtual-key': '', 'x-api-key': 'K' }), 'K');
});

test('presentedToken: with a repeated header the first value is used', () => {
  assert.equal(presentedToken({ 'x-litellm-api-key': ['first', 'second'] } as unknown as Record<string, string>), 'first');
});

test('KeyIndex.verify: ok, missing, unauthorized, disabled', () => {
  const idx = new KeyIndex([key('a', 'tok-a'), key('off', 'tok-off', false)]);
  assert.equal(idx.size, 2);
  const ok = idx.verify('tok-a') as VirtualKey;
  assert.equal(typeof ok, 'object');
  assert.equal(ok.id, 'a');
  assert.equal(ok.enabled, true);
  assert.equal(idx.verify(undefined), 'missing');
  assert.equal(idx.verify('tok-b'), 'unauthorized');
  assert.equal(idx.verify('tok-a '), 'unauthorized', 'verify compares exactly; trimming is the header reader\'s job');
  assert.equal(idx.verify('TOK-A'), 'unauthorized');
  assert.equal(idx.verify('tok-off'), 'disabled');
  assert.equal(AUTH_MESSAGES.missing, 'missing virtual key');
  assert.equal(AUTH_MESSAGES.unauthorized, 'unauthorized virtual key');
  assert.equal(AUTH_MESSAGES.disabled, 'virtual key disabled');
});

test('KeyIndex: sha256: tokens match their plaintext (hex case-insensitive), never the hash string', () => {
  const hex = createHash('sha256').update('plain-secret').digest('hex');
  const idx = new KeyIndex([key('h', `sha256:${hex.toUpperCase()}`)]);
  assert.equal((idx.verify('plain-secret') as VirtualKey).id, 'h');
  assert.equal(idx.verify(`sha256:${hex}`), 'unauthorized');
  assert.equal(idx.verify(hex), 'unauthorized');
});

test('KeyIndex: configured tokens are trimmed; no keys means nothing authenticates', () => {
  const idx = new KeyIndex([key('p', '  padded\n')]);
  assert.equal((idx.verify('padded') as VirtualKey).id, 'p');
  const empty = new KeyIndex([]);
  assert.equal(empty.size, 0);
  assert.equal(empty.verify('anything'), 'unauthorized');
  assert.equal(empty.verify(undefined), 'missing');
});

test('KeyIndex keeps no plaintext token: only the config object and a digest', () => {
  const idx = new KeyIndex([key('a', 'tok-a')]);
  const k = idx.verify('tok-a') as VirtualKey;
  assert.ok(Buffer.isBuffer(k.digest));
  assert.equal(k.digest.toString('hex'), createHash('sha256').update('tok-a').digest('hex'));
});
