import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { makeEnvLookup } from '../../src/config/env.js';
import { ConfigError, loadConfigFile } from '../../src/config/load.js';
import { bearer, startTestGateway } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';

function example(name: string): string {
  return fileURLToPath(new URL(`../../../examples/${name}`, import.meta.url));
}

const MIGRATE_ENV = { LITELLM_BASE_URL: 'http://127.0.0.1:4000/v1', LITELLM_MASTER_KEY: 'sk-litellm-master', DITTO_VK_TOKEN: 'vk-app' };

test('migrate-from-litellm.json loads as written once its env vars exist', () => {
  const { config, format } = loadConfigFile(example('migrate-from-litellm.json'), makeEnvLookup(MIGRATE_ENV));
  assert.equal(format, 'ditto');
  assert.deepEqual(config.backends.map((b) => [b.name, b.base_url, b.headers]), [
    ['litellm', 'http://127.0.0.1:4000/v1', { authorization: 'Bearer sk-litellm-master' }],
  ]);
  assert.deepEqual(config.virtual_keys.map((k) => [k.id, k.token, k.enabled]), [['app', 'vk-app', true]]);
  assert.equal(config.router.default_backend, 'litellm');
  assert.deepEqual(config.router.default_backends, [{ backend: 'litellm', weight: 1 }]);
});

test('migrate-from-litellm.json fails naming the var when one is missing', () => {
  const fields: Record<string, string> = {
    LITELLM_BASE_URL: 'backends[0].base_url',
    LITELLM_MASTER_KEY: 'backends[0].headers.authorization',
    DITTO_VK_TOKEN: 'virtual_keys[0].token',
  };
  for (const [name, field] of Object.entries(fields)) {
    const env: Record<string, string> = { ...MIGRATE_ENV };
    delete env[name];
    assert.throws(() => loadConfigFile(example('migrate-from-litellm.json'), makeEnvLookup(env)), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems, [`${field}: missing env var: ${name}`]);
      return true;
    });
  }
});

test('migrate-from-litellm.json: the gateway key is swapped for the LiteLLM master key upstream', async () => {
  const litellm = await startUpstream();
  const doc = JSON.parse(readFileSync(example('migrate-from-litellm.json'), 'utf8')) as unknown;
  const gw = await startTestGateway(doc, {}, { ...MIGRATE_ENV, LITELLM_BASE_URL: litellm.baseUrl });
  try {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...bearer('vk-app'), 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.equal(litellm.requests.length, 1);
    assert.equal(litellm.requests[0]?.url, '/v1/chat/completions');
    assert.equal(litellm.requests[0]?.headers['authorization'], 'Bearer sk-litellm-master');
  } finally {
    await gw.close();
    await litellm.close();
  }
});

test('gateway.demo.json loads without any env var', () => {
  const { config } = loadConfigFile(example('gateway.demo.json'), makeEnvLookup({}));
  assert.ok(config.backends.length > 0);
  assert.ok(config.virtual_keys.length > 0);
});
