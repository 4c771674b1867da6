import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { makeEnvLookup } from '../../src/config/env.js';
import { ConfigError, loadConfigDocument, loadConfigFile } from '../../src/config/load.js';
import {
  convertLitellmConfig, isLitellmConfig, litellmAuthorization, litellmBackendName, LitellmConfigError,
} from '../../src/config/litellm.js';
import type { ConfigFile } from '../../src/config/schema.js';
import { bearer, startTestGateway } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';

/** The real LiteLLM configs under ../shared (read in place, never copied into the repo). */
function litellmFile(name: string): string {
  return fileURLToPath(new URL(`../../../../shared/data/litellm/configs/${name}`, import.meta.url));
}

const KEYS = {
  OPENAI_API_KEY: 'sk-openai', ANTHROPIC_API_KEY: 'sk-ant', GROQ_API_KEY: 'gsk', GOOGLE_API_KEY: 'goog',
  AZURE_API_KEY: 'az-key', COHERE_API_KEY: 'co-key',
};

function load(name: string, env: Record<string, string> = KEYS): ConfigFile {
  const loaded = loadConfigFile(litellmFile(name), makeEnvLookup(env));
  assert.equal(loaded.format, 'litellm');
  return loaded.config;
}

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  assert.fail('expected a ConfigError');
}

function ruleSummary(cfg: ConfigFile): Array<[string, boolean, string[]]> {
  return (cfg.router.rules ?? []).map((r) => [
    r.model_prefix, r.exact, r.backends && r.backends.length > 0 ? r.backends.map((b) => b.backend) : [r.backend ?? ''],
  ]);
}

test('detection: model_list without backends/router/virtual_keys is LiteLLM', () => {
  assert.equal(isLitellmConfig({ model_list: [] }), true);
  assert.equal(isLitellmConfig({ model_list: [], backends: [] }), false);
  assert.equal(isLitellmConfig({ model_list: [], router: {} }), false);
  assert.equal(isLitellmConfig({ model_list: [], virtual_keys: [] }), false);
  assert.equal(isLitellmConfig({ backends: [] }), false);
  assert.equal(isLitellmConfig([{ model_list: [] }]), false);
});

test('backend names: litellm_<i>_<name>, ASCII alnum lowercased, everything else _', () => {
  assert.equal(litellmBackendName(0, 'gpt-3.5-turbo'), 'litellm_0_gpt_3_5_turbo');
  assert.equal(litellmBackendName(16, '*'), 'litellm_16__');
  assert.equal(litellmBackendName(3, 'Anthropic/*'), 'litellm_3_anthropic__');
  assert.equal(litellmBackendName(2, 'mödel ✓'), 'litellm_2_m_del__');
});

test('authorization: os.environ/X and os.environ[\'X\'] become ${X}; absent is ${OPENAI_API_KEY}', () => {
  assert.equal(litellmAuthorization('os.environ/AZURE_API_KEY'), 'Bearer ${AZURE_API_KEY}');
  assert.equal(litellmAuthorization("os.environ['MY_KEY']"), 'Bearer ${MY_KEY}');
  assert.equal(litellmAuthorization('os.environ["MY_KEY"]'), 'Bearer ${MY_KEY}');
  assert.equal(litellmAuthorization('sk-literal'), 'Bearer sk-literal');
  assert.equal(litellmAuthorization(undefined), 'Bearer ${OPENAI_API_KEY}');
  assert.equal(litellmAuthorization('  '), 'Bearer ${OPENAI_API_KEY}');
});

test('conversion of one entry: base_url, header, api-version, ceil timeout, model_map', () => {
  const doc = convertLitellmConfig({
    model_list: [
      { model_name: 'team', litellm_params: { model: 'azure/chatgpt-v-2', api_base: 'https://x.example/', api_version: '2024-02-01', api_key: "os.environ['AZ']", timeout: 2.2, stream_timeout: 9 } },
      { model_name: 'plain', litellm_params: { model: 'plain', stream_timeout: 0.001 } },
      { model_name: 'bad-yaml-11', litellm_params: { model: 'openai/x', timeout: '20_000', stream_timeout: 3 } },
      { model_name: 'zero', litellm_params: { model: 'openai/zero', timeout: 0 } },
    ],
  });
  assert.deepEqual(doc['backends'], [
    { name: 'litellm_0_team', base_url: 'https://x.example/', headers: { authorization: 'Bearer ${AZ}' }, query_params: { 'api-version': '2024-02-01' }, timeout_seconds: 3, model_map: { team: 'chatgpt-v-2' } },
    { name: 'litellm_1_plain', base_url: 'https://api.openai.com/v1', headers: { authorization: 'Bearer ${OPENAI_API_KEY}' }, timeout_seconds: 1 },
    // A YAML 1.1 number (a string in YAML 1.2) is ignored, so stream_timeout applies.
    { name: 'litellm_2_bad_yaml_11', base_url: 'https://api.openai.com/v1', headers: { authorization: 'Bearer ${OPENAI_API_KEY}' }, timeout_seconds: 3, model_map: { 'bad-yaml-11': 'x' } },
    { name: 'litellm_3_zero', base_url: 'https://api.openai.com/v1', headers: { authorization: 'Bearer ${OPENAI_API_KEY}' } },
  ]);
  assert.deepEqual(doc['virtual_keys'], []);
});

test('model_map only when neither side has * and they differ', () => {
  const doc = convertLitellmConfig({
    model_list: [
      { model_name: 'same', litellm_params: { model: 'openai/same' } },
      { model_name: 'wild/*', litellm_params: { model: 'openai/x' } },
      { model_name: 'alias', litellm_params: { model: 'anthropic/*' } },
      { model_name: 'deep', litellm_params: { model: 'openai/llava-hf/llava-7b' } },
    ],
  });
  const maps = (doc['backends'] as Array<{ model_map?: unknown }>).map((b) => b.model_map);
  assert.deepEqual(maps, [undefined, undefined, undefined, { deep: 'llava-hf/llava-7b' }]);
});

test('router: groups by model_name, exact first, longer prefix first, "*" is the default', () => {
  const doc = convertLitellmConfig({
    model_list: [
      { model_name: 'a/*', litellm_params: { model: 'a/*' } },
      { model_name: 'gpt-4', litellm_params: { model: 'gpt-4' } },
      { model_name: '*', litellm_params: { model: 'openai/*' } },
      { model_name: 'gpt-4', litellm_params: { model: 'gpt-4' } },
      { model_name: 'gpt-4o-mini', litellm_params: { model: 'gpt-4o-mini' } },
      { model_name: 'longer/*', litellm_params: { model: 'l/*' } },
      { model_name: '*', litellm_params: { model: 'openai/*' } },
    ],
  });
  assert.deepEqual(doc['router'], {
    default_backends: [{ backend: 'litellm_2__', weight: 1 }, { backend: 'litellm_6__', weight: 1 }],
    rules: [
      { model_prefix: 'gpt-4o-mini', exact: true, backend: 'litellm_4_gpt_4o_mini' },
      { model_prefix: 'gpt-4', exact: true, backends: [{ backend: 'litellm_1_gpt_4', weight: 1 }, { backend: 'litellm_3_gpt_4', weight: 1 }] },
      { model_prefix: 'longer/*', exact: false, backend: 'litellm_5_longer__' },
      { model_prefix: 'a/*', exact: false, backend: 'litellm_0_a__' },
    ],
  });
});

test('router: without "*" the default is the first backend of the alphabetically first group', () => {
  const doc = convertLitellmConfig({
    model_list: [
      { model_name: 'zeta', litellm_params: { model: 'zeta' } },
      { model_name: 'beta', litellm_params: { model: 'beta' } },
      { model_name: 'beta', litellm_params: { model: 'beta' } },
    ],
  });
  assert.deepEqual((doc['router'] as { default_backends: unknown }).default_backends, [{ backend: 'litellm_1_beta', weight: 1 }]);
});

test('master_key (trimmed) is the only key; blank or absent means no keys', () => {
  const list = [{ model_name: 'm', litellm_params: { model: 'm' } }];
  assert.deepEqual(convertLitellmConfig({ model_list: list, general_settings: { master_key: ' sk-9 ' } })['virtual_keys'],
    [{ id: 'litellm_master_key', token: 'sk-9' }]);
  assert.deepEqual(convertLitellmConfig({ model_list: list, general_settings: { master_key: '  ' } })['virtual_keys'], []);
  assert.deepEqual(convertLitellmConfig({ model_list: list, general_settings: {} })['virtual_keys'], []);
});

test('fatal: empty model_list and empty model_name', () => {
  assert.throws(() => convertLitellmConfig({ model_list: [] }), (e: Error) => e instanceof LitellmConfigError && e.message === 'litellm config missing model_list');
  assert.throws(() => convertLitellmConfig({ model_list: null }), /^Error: litellm config missing model_list$/);
  assert.throws(() => convertLitellmConfig({ model_list: [{ model_name: 'ok' }, { model_name: ' ' }] }), /model_list\[1\]\.model_name cannot be empty/);
  assert.deepEqual(problems(() => loadConfigDocument({ model_list: [] }, makeEnvLookup({}))), ['litellm config missing model_list']);
});

test('a YAML document that is neither format names both failures', () => {
  const doc = parseYaml('model_list: 5\nbackends: nope\n') as unknown;
  const p = problems(() => loadConfigDocument(doc, makeEnvLookup({}), { yaml: true }));
  assert.equal(p.length, 1);
  assert.match(p[0] ?? '', /^failed to parse config as ditto gateway yaml \(backends: expected a list, got string\) or litellm proxy yaml \(litellm config missing model_list\)$/);
});

test('azure_config.yaml: api-version, timeouts, model_map, env keys', () => {
  const cfg = load('azure_config.yaml');
  assert.deepEqual(cfg.backends.map((b) => [b.name, b.base_url, b.headers, b.query_params, b.timeout_seconds, b.model_map]), [
    ['litellm_0_gpt_4_team1', 'https://openai-gpt-4-test-v-1.openai.azure.com/', { authorization: 'Bearer az-key' }, { 'api-version': '2023-05-15' }, 5, { 'gpt-4-team1': 'chatgpt-v-2' }],
    ['litellm_1_gpt_4_team2', 'https://openai-gpt-4-test-v-2.openai.azure.com/', { authorization: 'Bearer az-key' }, {}, 5, { 'gpt-4-team2': 'gpt-4' }],
  ]);
  assert.deepEqual(ruleSummary(cfg), [['gpt-4-team1', true, ['litellm_0_gpt_4_team1']], ['gpt-4-team2', true, ['litellm_1_gpt_4_team2']]]);
  assert.deepEqual(cfg.router.default_backends, [{ backend: 'litellm_0_gpt_4_team1', weight: 1 }]);
  assert.deepEqual(cfg.virtual_keys, []);
});

test('azure_config.yaml without its env var fails naming the var for each backend', () => {
  const p = problems(() => loadConfigFile(litellmFile('azure_config.yaml'), makeEnvLookup({})));
  assert.deepEqual(p, [
    'backends[0].headers.authorization: missing env var: AZURE_API_KEY',
    'backends[1].headers.authorization: missing env var: AZURE_API_KEY',
  ]);
});

test('load_balancer.yaml: one group of three, literal keys, absent key falls back to OPENAI_API_KEY', () => {
  const cfg = load('load_balancer.yaml', { OPENAI_API_KEY: 'sk-env' });
  assert.deepEqual(cfg.backends.map((b) => [b.name, b.headers['authorization'], b.model_map]), [
    ['litellm_0_gpt_3_5_turbo', 'Bearer sk-uj6F', {}],
    ['litellm_1_gpt_3_5_turbo', 'Bearer sk-Imn', {}],
    ['litellm_2_gpt_3_5_turbo', 'Bearer sk-env', {}],
    ['litellm_3_mistral_7b_instruct', 'Bearer sk-env', {}],
  ]);
  assert.deepEqual(ruleSummary(cfg), [
    ['mistral-7b-instruct', true, ['litellm_3_mistral_7b_instruct']],
    ['gpt-3.5-turbo', true, ['litellm_0_gpt_3_5_turbo', 'litellm_1_gpt_3_5_turbo', 'litellm_2_gpt_3_5_turbo']],
  ]);
  assert.deepEqual(cfg.router.default_backends, [{ backend: 'litellm_0_gpt_3_5_turbo', weight: 1 }]);
  assert.deepEqual(problems(() => loadConfigFile(litellmFile('load_balancer.yaml'), makeEnvLookup({}))), [
    'backends[2].headers.authorization: missing env var: OPENAI_API_KEY',
    'backends[3].headers.authorization: missing env var: OPENAI_API_KEY',
  ]);
});

test('pass_through_config.yaml: master key, wildcard rules after exact ones, alphabetical default', () => {
  const cfg = load('pass_through_config.yaml');
  assert.deepEqual(cfg.virtual_keys.map((k) => [k.id, k.token, k.enabled]), [['litellm_master_key', 'sk-1234', true]]);
  assert.deepEqual(ruleSummary(cfg), [
    ['claude-3-5-sonnet-20241022', true, ['litellm_1_claude_3_5_sonnet_20241022', 'litellm_3_claude_3_5_sonnet_20241022']],
    ['claude-3-7-sonnet-20250219', true, ['litellm_4_claude_3_7_sonnet_20250219']],
    ['fake-openai-endpoint', true, ['litellm_0_fake_openai_endpoint']],
    ['claude-special-alias', true, ['litellm_2_claude_special_alias']],
    ['anthropic/*', false, ['litellm_5_anthropic__']],
    ['openai/*', false, ['litellm_6_openai__']],
  ]);
  assert.deepEqual(cfg.router.default_backends, [{ backend: 'litellm_5_anthropic__', weight: 1 }]);
  const alias = cfg.backends.find((b) => b.name === 'litellm_2_claude_special_alias');
  assert.deepEqual(alias?.model_map, { 'claude-special-alias': 'claude-3-haiku-20240307' });
  assert.equal(alias?.headers['authorization'], 'Bearer sk-ant');
});

test('proxy_server_config.yaml: "*" group is the default, timeouts, every backend valid', () => {
  const cfg = load('proxy_server_config.yaml');
  assert.equal(cfg.backends.length, 26);
  assert.deepEqual(cfg.router.default_backends, [{ backend: 'litellm_16__', weight: 1 }]);
  const byName = new Map(cfg.backends.map((b) => [b.name, b]));
  assert.equal(byName.get('litellm_3_gpt_3_5_turbo_large')?.timeout_seconds, 300);
  assert.equal(byName.get('litellm_10_fake_openai_endpoint_2')?.timeout_seconds, 1);
  assert.equal(byName.get('litellm_22_fake_openai_endpoint_5')?.timeout_seconds, 1);
  assert.equal(byName.get('litellm_9_fake_openai_endpoint')?.timeout_seconds, undefined);
  assert.deepEqual(byName.get('litellm_16__')?.headers, { authorization: 'Bearer sk-openai' });
  assert.deepEqual(cfg.virtual_keys.map((k) => k.token), ['sk-1234']);
  const rules = cfg.router.rules ?? [];
  const firstWildcard = rules.findIndex((r) => !r.exact);
  assert.ok(firstWildcard > 0 && rules.slice(firstWildcard).every((r) => !r.exact), 'exact rules come first');
  for (let i = 1; i < firstWildcard; i++) {
    assert.ok((rules[i - 1]?.model_prefix.length ?? 0) >= (rules[i]?.model_prefix.length ?? 0), 'longer exact names first');
  }
  assert.deepEqual(rules.slice(firstWildcard).map((r) => r.model_prefix), ['anthropic/*', 'bedrock/*', 'groq/*']);
  // Entries without api_key need OPENAI_API_KEY; every var named in the file is reported.
  const p = problems(() => loadConfigFile(litellmFile('proxy_server_config.yaml'), makeEnvLookup({ OPENAI_API_KEY: 'x' })));
  assert.deepEqual([...new Set(p.map((l) => l.replace(/^backends\[\d+\]\.headers\.authorization: /, '')))].sort(),
    ['missing env var: ANTHROPIC_API_KEY', 'missing env var: GOOGLE_API_KEY', 'missing env var: GROQ_API_KEY']);
});

test('otel_test_config.yaml: duplicate group, wildcard default chosen alphabetically', () => {
  const cfg = load('otel_test_config.yaml');
  assert.deepEqual(cfg.router.default_backends, [{ backend: 'litellm_5_bedrock__', weight: 1 }]);
  assert.deepEqual(ruleSummary(cfg)[0], ['fake-openai-endpoint', true, ['litellm_0_fake_openai_endpoint', 'litellm_1_fake_openai_endpoint']]);
  assert.equal(cfg.backends.find((b) => b.name === 'litellm_4_llava_hf')?.model_map['llava-hf'], 'llava-hf/llava-v1.6-vicuna-7b-hf');
});

test('a converted LiteLLM config serves: auth header, api-version query and model_map reach the upstream', async () => {
  const up = await startUpstream();
  const yamlText = [
    'model_list:',
    '  - model_name: team-model',
    '    litellm_params:',
    '      model: azure/real-deployment',
    `      api_base: ${up.baseUrl}`,
    "      api_key: os.environ['UP_KEY']",
    '      api_version: "2024-06-01"',
    'general_settings:',
    '  master_key: os.environ/MASTER',
  ].join('\n');
  const gw = await startTestGateway(parseYaml(yamlText), {}, { UP_KEY: 'sk-upstream', MASTER: 'sk-master' });
  try {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...bearer('sk-master'), 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'team-model', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.equal(up.requests.length, 1);
    const seen = up.requests[0];
    assert.equal(seen?.headers['authorization'], 'Bearer sk-upstream');
    assert.equal(seen?.url, '/v1/chat/completions?api-version=2024-06-01');
    assert.equal((JSON.parse(seen?.body.toString('utf8') ?? '{}') as { model: string }).model, 'real-deployment');
    const denied = await fetch(`${gw.url}/v1/models`, { headers: bearer('sk-wrong') });
    assert.equal(denied.status, 401);
    await denied.arrayBuffer();
  } finally {
    await gw.close();
    await up.close();
  }
});
