import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ConfigFileSchema, type ConfigFile } from '../../src/config/schema.js';
import { tokenDigestHex, validateConfig } from '../../src/config/validate.js';

function parse(doc: unknown): ConfigFile {
  return ConfigFileSchema.parse(doc);
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

const backends = [
  { name: 'primary', base_url: 'https://api.example/v1' },
  { name: 'backup', base_url: 'http://127.0.0.1:9/v1' },
];

test('a good config has no problems', () => {
  assert.deepEqual(validateConfig(parse({
    backends,
    virtual_keys: [{ id: 'a', token: 'sk-a', route: 'backup' }, { id: 'b', token: `sha256:${sha('sk-b')}` }],
    router: { default_backends: [{ backend: 'primary' }], rules: [{ model_prefix: 'gpt-4', backends: [{ backend: 'backup', weight: 2 }] }] },
  })), []);
  assert.deepEqual(validateConfig(parse({})), []);
});

test('router: every unknown reference with its path, plus the sorted unique summary', () => {
  const errors = validateConfig(parse({
    backends,
    router: {
      default_backends: [{ backend: 'primary' }, { backend: 'zeta' }],
      rules: [
        { model_prefix: 'a', backend: 'primary' },
        { model_prefix: 'b', backend: 'zeta' },
        { model_prefix: 'c', backends: [{ backend: 'bakup' }, { backend: 'primary' }] },
      ],
    },
  }));
  assert.deepEqual(errors, [
    'router.default_backends[1].backend: unknown backend "zeta"',
    'router.rules[1].backend: unknown backend "zeta"',
    'router.rules[2].backends[0].backend: unknown backend "bakup"',
    'router references unknown backends: bakup, zeta',
  ]);
});

test('router: empty model_prefix, rule without backends, legacy default_backend', () => {
  const errors = validateConfig(parse({
    backends,
    router: {
      default_backend: 'nope',
      rules: [{ model_prefix: ' ', backend: 'primary' }, { model_prefix: 'x', backend: '', backends: [] }],
    },
  }));
  assert.deepEqual(errors, [
    'router.default_backend: unknown backend "nope"',
    'router.rules[0].model_prefix cannot be empty',
    'router.rules[1]: needs backend or backends',
    'router references unknown backends: nope',
  ]);
});

test('router: default_backend together with a non-empty default_backends is an error; with an empty one it is not', () => {
  const both = validateConfig(parse({ backends, router: { default_backend: 'primary', default_backends: [{ backend: 'backup' }] } }));
  assert.deepEqual(both, ['router: default_backend cannot be combined with default_backends (use default_backends)']);
  assert.deepEqual(validateConfig(parse({ backends, router: { default_backend: 'primary', default_backends: [] } })), []);
});

test('virtual keys: empty id/token, duplicates by id and by token hash (sha256: forms included)', () => {
  const errors = validateConfig(parse({
    backends,
    virtual_keys: [
      { id: '', token: 'sk-1' },
      { id: 'k1', token: '   ' },
      { id: 'k2', token: 'sk-dup' },
      { id: 'k2', token: ' sk-dup ' },
      { id: 'k3', token: `sha256:${sha('sk-dup').toUpperCase()}` },
      { id: 'k4', token: 'sha256:abc' },
      { id: 'k5', token: 'sk-5', route: 'nowhere' },
    ],
  }));
  assert.deepEqual(errors, [
    'virtual_keys[0].id cannot be empty',
    'virtual_keys[1].token cannot be empty',
    'duplicate virtual key id `k2` (virtual_keys[2] and virtual_keys[3])',
    'duplicate virtual key token (virtual_keys[2] and virtual_keys[3])',
    'duplicate virtual key token (virtual_keys[2] and virtual_keys[4])',
    'virtual_keys[5].token: a sha256: token must be "sha256:" followed by 64 hex digits',
    'virtual_keys[6].route references unknown backend: nowhere',
  ]);
  // The error never contains the token itself.
  assert.ok(errors.every((e) => !e.includes('sk-dup')));
});

test('tokenDigestHex: plaintext hashed trimmed, sha256: taken as given (lowercased)', () => {
  assert.equal(tokenDigestHex(' sk-x\n'), sha('sk-x'));
  assert.equal(tokenDigestHex(`sha256:${sha('sk-x').toUpperCase()}`), sha('sk-x'));
});

test('backends: duplicate names, provider with base_url, neither, bad URL, bad headers', () => {
  const errors = validateConfig(parse({
    backends: [
      { name: 'a', base_url: 'https://a/v1' },
      { name: 'a', base_url: 'https://a2/v1' },
      { name: 'both', base_url: 'https://b/v1', provider: 'mock' },
      { name: 'neither' },
      { name: 'badurl', base_url: 'not a url' },
      { name: 'ftp', base_url: 'ftp://x/v1' },
      { name: 'hdr', base_url: 'https://h/v1', headers: { 'bad header': 'v', ok: 'line\nbreak' } },
      { name: '', base_url: 'https://e/v1' },
      { name: 'prov', provider: 'no-such-adapter' },
    ],
  }));
  assert.deepEqual(errors.slice(0, 7), [
    'duplicate backend name `a` (backends[1])',
    'backends[2]: backend "both" cannot have both provider and base_url',
    'backends[3].base_url: required for a passthrough backend (or set provider for a translation backend)',
    'backends[4].base_url: not a valid URL',
    'backends[5].base_url: must be http:// or https://',
    'backends[6].headers: invalid header name "bad header"',
    'backends[6].headers.ok: invalid header value (control characters)',
  ]);
  assert.equal(errors[7], 'backends[7].name cannot be empty');
  assert.match(errors[8] ?? '', /^backends\[8\]\.provider: unsupported provider "no-such-adapter"/);
  assert.equal(errors.length, 9);
});

test('guardrails: an invalid banned regex names the key or rule', () => {
  const errors = validateConfig(parse({
    backends,
    virtual_keys: [{ id: 'k', token: 't', guardrails: { banned_regexes: ['ok', '(unclosed'] } }],
    router: { rules: [{ model_prefix: 'm', backend: 'primary', guardrails: { banned_regexes: ['(?i)fine', '[z-a]'] } }] },
  }));
  assert.equal(errors.length, 2);
  assert.match(errors[0] ?? '', /^virtual_keys\[0\]\.guardrails invalid: banned_regexes\[1\]: /);
  assert.match(errors[1] ?? '', /^router\.rules\[0\]\.guardrails invalid: banned_regexes\[1\]: /);
});

test('fields that failed to expand are not checked again', () => {
  const cfg = parse({
    backends: [{ name: 'p', base_url: '${NOT_SET}' }],
    virtual_keys: [{ id: 'a', token: '${T}' }, { id: 'b', token: '${T}' }],
    mcp_servers: [{ server_id: 'm', url: '${MCP_URL}' }],
  });
  const unresolved = new Set(['backends[0].base_url', 'virtual_keys[0].token', 'virtual_keys[1].token', 'mcp_servers[0].url']);
  assert.deepEqual(validateConfig(cfg, unresolved), []);
  // Without that knowledge the same placeholders would read as a bad URL and a duplicate token.
  assert.equal(validateConfig(cfg).length, 3);
});

test('mcp_servers and a2a_agents: ids and endpoint URLs', () => {
  const errors = validateConfig(parse({
    mcp_servers: [
      { server_id: 'm', url: 'https://mcp.example/mcp' },
      { server_id: 'm', http_url: 'http://127.0.0.1:1/mcp' },
      { server_id: '', url: 'ws://x' },
      { server_id: 'none' },
    ],
    a2a_agents: [
      { agent_id: 'a', agent_card_params: { url: 'https://agent.example' } },
      { agent_id: 'a', agent_card_params: {} },
    ],
  }));
  assert.deepEqual(errors, [
    'duplicate mcp server id `m` (mcp_servers[0] and mcp_servers[1])',
    'mcp_servers[2].server_id cannot be empty',
    'mcp_servers[2].url: must be http:// or https://',
    'mcp_servers[3].url: required',
    'duplicate a2a agent id `a` (a2a_agents[0] and a2a_agents[1])',
    'a2a_agents[1].agent_card_params.url: required',
  ]);
});

test('observability: replacement, regexes (Rust inline flags accepted) and JSON pointers', () => {
  assert.deepEqual(validateConfig(parse({ observability: { redaction: { redact_regexes: ['(?i)bearer\\s+\\S+', '(?ms)a.b'] } } })), []);
  const errors = validateConfig(parse({
    observability: { redaction: { replacement: '', redact_regexes: ['(?x)a b', '(open'], redact_json_pointers: ['/ok/~1x', 'no-slash', '/bad~2'] } },
  }));
  assert.equal(errors.length, 5);
  assert.equal(errors[0], 'observability.redaction.replacement cannot be empty');
  assert.match(errors[1] ?? '', /^observability\.redaction\.redact_regexes\[0\]: unsupported inline flag "x"/);
  assert.match(errors[2] ?? '', /^observability\.redaction\.redact_regexes\[1\]: invalid regex/);
  assert.match(errors[3] ?? '', /^observability\.redaction\.redact_json_pointers\[1\]: /);
  assert.match(errors[4] ?? '', /^observability\.redaction\.redact_json_pointers\[2\]: /);
});
