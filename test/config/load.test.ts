import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeEnvLookup } from '../../src/config/env.js';
import { ConfigError, loadConfigDocument, loadConfigFile } from '../../src/config/load.js';

const none = makeEnvLookup({});

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  assert.fail('expected a ConfigError');
}

const base = {
  backends: [{ name: 'primary', base_url: 'https://api.example/v1' }],
  router: { default_backends: [{ backend: 'primary' }] },
};

test('the docs\' minimal key forms load and take the defaults', () => {
  const { config } = loadConfigDocument({
    ...base,
    virtual_keys: [{ id: 'k', token: 'sk-k', limits: {}, budget: {}, cache: {}, guardrails: {}, passthrough: {}, route: null }],
  }, none);
  const k = config.virtual_keys[0];
  assert.ok(k);
  assert.equal(k.enabled, true);
  assert.deepEqual(k.limits, {});
  assert.deepEqual(k.budget, {});
  assert.deepEqual(k.cache, { enabled: false, max_entries: 1024, max_body_bytes: 1048576, max_total_body_bytes: 67108864 });
  assert.deepEqual(k.passthrough, { allow: true, bypass_cache: true });
  assert.deepEqual(k.guardrails, {
    allow_models: [], deny_models: [], banned_phrases: [], banned_regexes: [], block_pii: false, validate_schema: false,
  });
  assert.equal(k.route, null);
});

test('an empty document is a valid empty config with observability defaults; the result is frozen', () => {
  const { config, format } = loadConfigDocument({}, none);
  assert.equal(format, 'ditto');
  assert.deepEqual(config.backends, []);
  assert.deepEqual(config.virtual_keys, []);
  assert.equal(config.observability.redaction.replacement, '<redacted>');
  assert.deepEqual(config.observability.redaction.redact_regexes, ['(?i)bearer\\s+[^\\s]+', 'sk-[A-Za-z0-9]{10,}']);
  assert.ok(config.observability.redaction.redact_headers.includes('x-ditto-virtual-key'));
  assert.deepEqual(config.observability.sampling, { json_logs_rate: 1, audit_rate: 1, devtools_rate: 1 });
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.observability.redaction.redact_headers));
  assert.throws(() => { (config.backends as unknown[]).push({}); }, TypeError);
});

test('unknown fields are ignored', () => {
  const { config } = loadConfigDocument({ ...base, future_section: { x: 1 }, backends: [{ ...base.backends[0], colour: 'red' }] }, none);
  assert.equal(config.backends.length, 1);
  assert.ok(!('colour' in (config.backends[0] as object)));
});

test('legacy default_backend folds into default_backends', () => {
  const { config } = loadConfigDocument({ backends: base.backends, router: { default_backend: 'primary' } }, none);
  assert.deepEqual(config.router.default_backends, [{ backend: 'primary', weight: 1 }]);
});

test('schema errors are readable, one per path, all reported together', () => {
  const p = problems(() => loadConfigDocument({
    backends: [{ name: 7, base_url: 'https://x/v1', timeout_seconds: -1, headers: { a: 1 } }],
    virtual_keys: [{ id: 'k', token: 123, enabled: 'yes', limits: { rpm: 1.5 } }, 'not-a-key'],
    router: { rules: [{ exact: true, backend: 'x' }], default_backends: 'primary' },
  }, none));
  assert.deepEqual(p, [
    'backends[0].name: expected a string, got number',
    'backends[0].headers.a: expected a string, got number',
    'backends[0].timeout_seconds: must be >= 0',
    'virtual_keys[0].token: expected a string, got number',
    'virtual_keys[0].enabled: expected true or false, got string',
    'virtual_keys[0].limits.rpm: expected a whole number, got fractional number',
    'virtual_keys[1]: expected an object, got string',
    'router.default_backends: expected a list, got string',
    'router.rules[0].model_prefix: required (expected a string)',
  ]);
});

test('a schema error never echoes the offending value', () => {
  const p = problems(() => loadConfigDocument({ virtual_keys: [{ id: 'k', token: ['sk-secret-value'] }] }, none));
  assert.deepEqual(p, ['virtual_keys[0].token: expected a string, got list']);
});

test('sampling rates: finite and within [0, 1], with the contract message', () => {
  const p = problems(() => loadConfigDocument({ observability: { sampling: { json_logs_rate: 1.5, audit_rate: -0.1, devtools_rate: 'all' } } }, none));
  assert.deepEqual(p, [
    'observability.sampling.json_logs_rate must be a finite value between 0.0 and 1.0',
    'observability.sampling.audit_rate must be a finite value between 0.0 and 1.0',
    'observability.sampling.devtools_rate must be a finite value between 0.0 and 1.0',
  ]);
  const ok = loadConfigDocument({ observability: { sampling: { json_logs_rate: 0, audit_rate: 0.25 } } }, none);
  assert.deepEqual(ok.config.observability.sampling, { json_logs_rate: 0, audit_rate: 0.25, devtools_rate: 1 });
});

test('env expansion applies to the contract\'s fields only, and every failure is reported with its field', () => {
  const doc = {
    backends: [{
      name: 'p', base_url: '${BASE}', headers: { authorization: 'Bearer ${KEY}' }, query_params: { v: 'os.environ/VER' },
      model_map: { a: '${NOT_EXPANDED}' },
    }],
    virtual_keys: [{ id: '${ID_NOT_EXPANDED}', token: 'secret://env/TOKEN' }],
    router: { default_backend: 'p' },
    mcp_servers: [{ server_id: 'm', url: 'https://${HOST}/mcp', headers: { x: '${KEY}' } }],
    a2a_agents: [{ agent_id: 'a', agent_card_params: { url: 'https://${HOST}/a2a', nested: ['${KEY}'] } }],
  };
  const lookup = makeEnvLookup({ BASE: 'https://api.example/v1', KEY: 'sk-k', VER: '2024', TOKEN: 'vk-1', HOST: 'h.example' });
  const { config } = loadConfigDocument(doc, lookup);
  const b = config.backends[0];
  assert.equal(b?.base_url, 'https://api.example/v1');
  assert.deepEqual(b?.headers, { authorization: 'Bearer sk-k' });
  assert.deepEqual(b?.query_params, { v: '2024' });
  assert.deepEqual(b?.model_map, { a: '${NOT_EXPANDED}' });
  assert.equal(config.virtual_keys[0]?.id, '${ID_NOT_EXPANDED}');
  assert.equal(config.virtual_keys[0]?.token, 'vk-1');
  assert.equal(config.mcp_servers[0]?.url, 'https://h.example/mcp');
  assert.deepEqual(config.mcp_servers[0]?.headers, { x: 'sk-k' });
  assert.deepEqual(config.a2a_agents[0]?.agent_card_params, { url: 'https://h.example/a2a', nested: ['sk-k'] });

  const p = problems(() => loadConfigDocument(doc, makeEnvLookup({ HOST: 'h.example' }, new Map([['KEY', ' ']]))));
  assert.deepEqual(p, [
    'backends[0].base_url: missing env var: BASE',
    'backends[0].headers.authorization: env var is empty: KEY',
    'backends[0].query_params.v: missing env var: VER',
    'virtual_keys[0].token: missing env var: TOKEN',
    'mcp_servers[0].headers.x: env var is empty: KEY',
    'a2a_agents[0].agent_card_params.nested[0]: env var is empty: KEY',
  ]);
});

test('placeholder syntax errors and secret failures', () => {
  const p = problems(() => loadConfigDocument({
    backends: [{ name: 'p', base_url: 'https://x/v1', headers: { a: 'Bearer ${KEY', b: '${}' } }],
    virtual_keys: [{ id: 'k', token: 'secret://file?path=/definitely/not/here' }],
  }, none));
  assert.deepEqual(p.slice(0, 2), ['backends[0].headers.a: unterminated env placeholder', 'backends[0].headers.b: empty env placeholder']);
  assert.match(p[2] ?? '', /^failed to resolve secret for virtual_keys\[0\]\.token: ENOENT/);
  assert.equal(p.length, 3);
});

test('expansion and validation problems are reported together', () => {
  const p = problems(() => loadConfigDocument({
    backends: [{ name: 'p', base_url: '${MISSING_BASE}' }],
    virtual_keys: [{ id: 'k', token: '' }],
    router: { rules: [{ model_prefix: 'gpt', backend: 'x' }, { model_prefix: 'o', backends: [{ backend: 'p' }] }, { model_prefix: 'c', backends: [{ backend: 'bakup' }] }] },
  }, none));
  assert.deepEqual(p, [
    'backends[0].base_url: missing env var: MISSING_BASE',
    'virtual_keys[0].token cannot be empty',
    'router.rules[0].backend: unknown backend "x"',
    'router.rules[2].backends[0].backend: unknown backend "bakup"',
    'router references unknown backends: bakup, x',
  ]);
});

test('--upstream adds a backend or replaces one by name, without headers', () => {
  const doc = {
    backends: [{ name: 'primary', base_url: 'https://old/v1', headers: { authorization: 'Bearer old' }, model_map: { a: 'b' } }],
    router: { default_backends: [{ backend: 'primary' }, { backend: 'extra' }] },
  };
  assert.deepEqual(problems(() => loadConfigDocument(doc, none)), [
    'router.default_backends[1].backend: unknown backend "extra"',
    'router references unknown backends: extra',
  ]);
  const { config } = loadConfigDocument(doc, none, {
    upstreams: [{ name: 'primary', url: 'http://127.0.0.1:1/v1' }, { name: 'extra', url: 'http://127.0.0.1:2/v1' }],
  });
  assert.deepEqual(config.backends.map((b) => [b.name, b.base_url, b.headers, b.model_map]), [
    ['primary', 'http://127.0.0.1:1/v1', {}, {}],
    ['extra', 'http://127.0.0.1:2/v1', {}, {}],
  ]);
});

test('files: extension picks the parser (case-insensitive), none means JSON, others are fatal', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ditto-cfg-'));
  try {
    const yaml = 'backends:\n  - name: primary\n    base_url: https://api.example/v1\nrouter:\n  default_backend: primary\n';
    const json = JSON.stringify(base);
    for (const [name, text] of [['a.yaml', yaml], ['b.YML', yaml], ['c.Json', json], ['noext', json]] as const) {
      writeFileSync(join(dir, name), text);
      const { config } = loadConfigFile(join(dir, name), none);
      assert.equal(config.backends[0]?.name, 'primary', name);
    }
    writeFileSync(join(dir, 'yaml-as-json'), yaml);
    assert.match(problems(() => loadConfigFile(join(dir, 'yaml-as-json'), none))[0] ?? '', /^cannot parse config .*yaml-as-json as JSON: /);
    writeFileSync(join(dir, 'x.toml'), '');
    assert.match(problems(() => loadConfigFile(join(dir, 'x.toml'), none))[0] ?? '', /^unsupported gateway config extension \.toml /);
    assert.match(problems(() => loadConfigFile(join(dir, 'missing.json'), none))[0] ?? '', /^cannot read config .*missing\.json: ENOENT$/);
    writeFileSync(join(dir, 'empty.yaml'), '# nothing here\n');
    assert.deepEqual(loadConfigFile(join(dir, 'empty.yaml'), none).config.backends, []);
    writeFileSync(join(dir, 'merge.yml'), 'defaults: &d\n  base_url: https://merged/v1\nbackends:\n  - name: m\n    <<: *d\n');
    assert.equal(loadConfigFile(join(dir, 'merge.yml'), none).config.backends[0]?.base_url, 'https://merged/v1');
    writeFileSync(join(dir, 'list.yaml'), '- a\n- b\n');
    assert.deepEqual(problems(() => loadConfigFile(join(dir, 'list.yaml'), none)), [
      'failed to parse config as ditto gateway yaml ((root): expected an object, got list) or litellm proxy yaml (litellm config missing model_list)',
    ]);
    writeFileSync(join(dir, 'list.json'), '[1]');
    assert.deepEqual(problems(() => loadConfigFile(join(dir, 'list.json'), none)), ['(root): expected an object, got list']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
