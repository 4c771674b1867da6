import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLAGS } from '../../src/cli/args.js';
import { startUpstream } from '../helpers/upstream.js';
import { ROOT, runCli, startCli } from './run.js';

let dir = '';
const good = (): string => join(dir, 'good.json');
const bad = (): string => join(dir, 'bad.yaml');

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ditto-cli-'));
  writeFileSync(good(), JSON.stringify({
    backends: [{ name: 'primary', base_url: 'http://127.0.0.1:9/v1', headers: { authorization: 'Bearer ${UP_KEY}' } }],
    virtual_keys: [{ id: 'app', token: 'vk-app' }],
    router: { default_backends: [{ backend: 'primary' }] },
  }));
  writeFileSync(bad(), [
    'backends:',
    '  - name: primary',
    '    base_url: ${MISSING_BASE}',
    'virtual_keys:',
    '  - id: k',
    '    token: ""',
    'router:',
    '  rules:',
    '    - model_prefix: gpt',
    '      backends: [{ backend: bakup }]',
  ].join('\n'));
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('--help / -h: usage on stdout listing every flag, exit 0', async () => {
  for (const flag of ['--help', '-h']) {
    const r = await runCli(['some.json', flag]);
    assert.equal(r.code, 0, flag);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^Usage: ditto-gateway <config\.\(json\|yaml\|yml\)> \[flags\.\.\.\]/);
    for (const f of FLAGS) for (const n of f.names) assert.ok(r.stdout.includes(n), `${flag}: ${n} not listed`);
  }
});

test('--version / -V prints "ditto-gateway <semver>"', async () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(pkg.version, '0.1.0');
  for (const flag of ['--version', '-V']) {
    const r = await runCli([flag]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'ditto-gateway 0.1.0\n');
  }
});

test('no arguments: usage on stderr, exit 2', async () => {
  const r = await runCli([]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /Usage: ditto-gateway/);
});

test('usage errors exit 2 with the usage: unknown arg, missing value', async () => {
  const unknown = await runCli([good(), '--nope']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^unknown arg: --nope\n/);
  assert.match(unknown.stderr, /Usage: ditto-gateway/);
  const missing = await runCli([good(), '--listen']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^missing value for --listen\n/);
});

test('bad flag values are fatal (exit 1) and name the flag', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--proxy-max-in-flight', 'many'], /^invalid --proxy-max-in-flight/],
    [['--proxy-max-in-flight', '0'], /^--proxy-max-in-flight must be > 0\n/],
    [['--proxy-max-in-flight=0'], /^--proxy-max-in-flight must be > 0\n/],
    [['--proxy-retry-status-codes', '500,oops'], /^invalid --proxy-retry-status-codes/],
    [['--proxy-timeout-error-action', 'panic'], /^invalid --proxy-timeout-error-action/],
  ];
  for (const [args, expected] of cases) {
    const r = await runCli([good(), ...args]);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, expected);
    assert.equal(r.stdout, '');
  }
});

test('flags owned by later issues are not accepted yet', async () => {
  const contractFlags = [
    '--admin-token', '--admin-token-env', '--admin-read-token', '--admin-read-token-env', '--admin-tenant-token',
    '--admin-tenant-token-env', '--admin-tenant-read-token', '--admin-tenant-read-token-env', '--state', '--sqlite', '--pg',
    '--postgres', '--pg-env', '--postgres-env', '--mysql', '--mysql-env', '--redis', '--redis-env', '--redis-prefix',
    '--audit-retention-secs', '--db-doctor', '--proxy-cache', '--proxy-cache-ttl', '--proxy-cache-streaming',
    '--proxy-usage-max-body-bytes', '--pricing-litellm', '--prometheus-metrics', '--otel', '--otel-endpoint', '--otel-json',
    '--devtools', '--backend',
  ];
  const known = new Set(FLAGS.flatMap((f) => f.names));
  const pending = contractFlags.filter((f) => !known.has(f));
  // The first still-pending flag goes through the real binary; the rest are covered by the same parser.
  const probe = pending.includes('--redis') ? '--redis' : (pending[0] ?? '--nope-not-a-flag');
  const r = await runCli([good(), probe, 'redis://127.0.0.1:1']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`^unknown arg: ${probe}\\n`));
});

test('--check with a good config prints "config ok", exits 0 and binds nothing', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as { port: number }).port;
  try {
    // The port is taken: --check must not try to bind it.
    const r = await runCli([good(), '--check', `--listen=127.0.0.1:${port}`], { UP_KEY: 'sk-up' });
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, 'config ok\n');
    assert.equal(r.code, 0);
  } finally {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  }
});

test('--check with a bad config prints every error and exits 1', async () => {
  const r = await runCli([bad(), '--check']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  for (const line of [
    'backends[0].base_url: missing env var: MISSING_BASE',
    'virtual_keys[0].token cannot be empty',
    'router.rules[0].backends[0].backend: unknown backend "bakup"',
    'router references unknown backends: bakup',
  ]) assert.ok(r.stderr.includes(line), `missing "${line}" in:\n${r.stderr}`);
  assert.ok(r.stderr.includes(bad()), 'the message names the config path');
});

test('a missing env var at startup is fatal and names the var', async () => {
  const r = await runCli([good(), '--listen', '127.0.0.1:0']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /backends\[0\]\.headers\.authorization: missing env var: UP_KEY/);
  assert.doesNotMatch(r.stdout, /listening/);
});

test('unsupported config extension is fatal', async () => {
  const toml = join(dir, 'gateway.toml');
  writeFileSync(toml, 'x = 1\n');
  const r = await runCli([toml, '--check']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /unsupported gateway config extension \.toml/);
});

test('--dotenv: values fill placeholders; an unreadable file is fatal', async () => {
  const envFile = join(dir, 'gateway.env');
  writeFileSync(envFile, '# keys\nexport UP_KEY="sk-from-dotenv"\n');
  const ok = await runCli([good(), '--dotenv', envFile, '--check']);
  assert.equal(ok.stdout, 'config ok\n');
  assert.equal(ok.code, 0);
  const missing = join(dir, 'nope.env');
  const r = await runCli([good(), '--dotenv', missing, '--check']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`^cannot read --dotenv ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ENOENT`));
});

test('--upstream adds a backend the router needs', async () => {
  const cfg = join(dir, 'needs-extra.json');
  writeFileSync(cfg, JSON.stringify({ router: { default_backend: 'extra' } }));
  const without = await runCli([cfg, '--check']);
  assert.equal(without.code, 1);
  assert.match(without.stderr, /router references unknown backends: extra/);
  const withIt = await runCli([cfg, '--check', '--upstream', 'extra=http://127.0.0.1:1/v1']);
  assert.equal(withIt.stdout, 'config ok\n');
  assert.equal(withIt.code, 0);
});

test('start: prints the bound address, serves, --upstream replaces a backend; SIGTERM exits 0', async () => {
  const up = await startUpstream();
  let gw: Awaited<ReturnType<typeof startCli>> | undefined;
  try {
    gw = await startCli([good(), '--listen', '127.0.0.1:0', '--upstream', `primary=${up.baseUrl}`], { UP_KEY: 'sk-up' });
    assert.match(gw.address, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(gw.address, '127.0.0.1:0');
    assert.match(gw.output().stdout, new RegExp(`^ditto-gateway listening on ${gw.address.replace(/\./g, '\\.')}\\n`));
    const res = await fetch(`http://${gw.address}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer vk-app', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.equal(up.requests.length, 1);
    // The replacement is header-less: the file's `authorization: Bearer ${UP_KEY}` is gone.
    assert.equal(up.requests[0]?.headers['authorization'], undefined);
    gw.child.kill('SIGTERM');
    const result = await gw.exited;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.signal, null);
  } finally {
    if (gw && gw.child.exitCode === null && gw.child.signalCode === null) gw.child.kill('SIGKILL');
    await up.close();
  }
});
