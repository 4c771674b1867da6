/**
 * Translation backend config (CONTRACT §2.2, §2.8): the provider ids the registry serves, `provider_config` checks,
 * and auth resolved from the environment at load time (`missing env var: X` is fatal; the key becomes a header or
 * query parameter of the frozen config).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeEnvLookup } from '../../src/config/env.js';
import { ConfigError, loadConfigDocument } from '../../src/config/load.js';
import { SUPPORTED_PROVIDERS } from '../../src/config/validate.js';
import { PROVIDERS } from '../../src/providers/registry.js';

function problems(doc: unknown, env: Record<string, string> = {}): string[] {
  try {
    loadConfigDocument(doc, makeEnvLookup(env));
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
}

const one = (backend: Record<string, unknown>): Record<string, unknown> => ({ backends: [{ name: 'b', ...backend }] });

test('the validated provider list is the registry', () => {
  assert.deepEqual([...SUPPORTED_PROVIDERS].sort(), Object.keys(PROVIDERS).sort());
  assert.deepEqual([...SUPPORTED_PROVIDERS].sort(), ['anthropic', 'google', 'mock', 'openai', 'openai-compatible']);
});

test('auth env vars must exist at startup: explicit keys, provider defaults, every key tried', () => {
  assert.deepEqual(problems(one({ provider: 'anthropic', provider_config: { auth: { type: 'api_key_env', keys: ['MY_CLAUDE_KEY'] } } })), [
    'backends[0].provider_config.auth: missing env var: MY_CLAUDE_KEY',
  ]);
  assert.deepEqual(problems(one({ provider: 'anthropic' })), ['backends[0].provider_config.auth: missing env var: ANTHROPIC_API_KEY']);
  assert.deepEqual(problems(one({ provider: 'google' })), [
    'backends[0].provider_config.auth: missing env var: GEMINI_API_KEY (none of GEMINI_API_KEY, GOOGLE_API_KEY is set)',
  ]);
  assert.deepEqual(problems(one({ provider: 'google' }), { GOOGLE_API_KEY: 'g' }), []);
  assert.deepEqual(problems(one({ provider: 'openai' })), ['backends[0].provider_config.auth: missing env var: OPENAI_API_KEY']);
  // openai-compatible servers may need no key; an auth header set directly needs no env var either.
  assert.deepEqual(problems(one({ provider: 'openai-compatible', provider_config: { base_url: 'http://127.0.0.1:1/v1' } })), []);
  assert.deepEqual(problems(one({ provider: 'anthropic', provider_config: { http_headers: { 'X-Api-Key': 'literal' } } })), []);
});

test('resolved auth lands in http_headers / http_query_params; explicit entries win', () => {
  const env = { K1: 'v1', K2: 'v2' };
  const load = (pc: Record<string, unknown>, provider = 'openai'): Record<string, unknown> =>
    loadConfigDocument(one({ provider, provider_config: pc }), makeEnvLookup(env)).config.backends[0]?.provider_config ?? {};
  assert.deepEqual(load({ auth: { type: 'api_key_env', keys: ['NOPE', 'K2'] } })['http_headers'], { authorization: 'Bearer v2' });
  assert.deepEqual(load({ auth: { type: 'api_key_env', keys: ['K1'] } }, 'anthropic')['http_headers'], { 'x-api-key': 'v1' });
  assert.deepEqual(load({ auth: { type: 'http_header_env', header: 'Api-Key', keys: ['K1'], prefix: 'Token ' } })['http_headers'], { 'api-key': 'Token v1' });
  assert.deepEqual(load({ auth: { type: 'query_param_env', param: 'key', keys: ['K1'] } }, 'google')['http_query_params'], { key: 'v1' });
  assert.deepEqual(load({ auth: { type: 'api_key_env', keys: ['K1'] }, http_headers: { Authorization: 'Bearer fixed' } })['http_headers'], { authorization: 'Bearer fixed' });
});

test('provider_config checks: base_url, auth type, whitelist/default, header names, provider mismatch', () => {
  const env = { OPENAI_API_KEY: 'x', ANTHROPIC_API_KEY: 'y' };
  assert.deepEqual(problems(one({ provider: 'openai-compatible' }), env), ['backends[0].provider_config.base_url: required for provider "openai-compatible"']);
  assert.deepEqual(problems(one({ provider: 'openai', provider_config: { base_url: 'ftp://x' } }), env), ['backends[0].provider_config.base_url: must be http:// or https://']);
  assert.match(problems(one({ provider: 'anthropic', provider_config: { auth: { type: 'sigv4' } } }), env)[0] ?? '', /^backends\[0\]\.provider_config\.auth\.type: unsupported auth type "sigv4"/);
  assert.deepEqual(problems(one({ provider: 'anthropic', provider_config: { default_model: 'a', model_whitelist: ['b'] } }), env), [
    'backends[0].provider_config.default_model: "a" is not in model_whitelist',
  ]);
  assert.deepEqual(problems(one({ provider: 'anthropic', provider_config: { http_headers: { 'bad name': 'v' } } }), env), [
    'backends[0].provider_config.http_headers: invalid header name "bad name"',
  ]);
  assert.deepEqual(problems(one({ provider: 'anthropic', provider_config: { provider: 'google' } }), env), [
    'backends[0].provider_config.provider: "google" does not match backend provider "anthropic"',
  ]);
});
