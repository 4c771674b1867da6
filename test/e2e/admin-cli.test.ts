/**
 * The admin side of the CLI as a real process: token flag resolution at startup (env vars, exclusions,
 * fatal messages), the admin API mounted by a resolved token, and `audit-verify` argument handling.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, startCli } from '../cli/run.js';

let dir: string;
let cfg: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'admin-cli-'));
  cfg = join(dir, 'gateway.json');
  writeFileSync(cfg, JSON.stringify({
    backends: [{ name: 'mocky', provider: 'mock' }],
    virtual_keys: [{ id: 'k1', token: 'sk-k1-token' }],
    router: { default_backends: [{ backend: 'mocky' }] },
  }));
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('fatal admin token problems: one stderr line naming the flag or variable, exit 1', async () => {
  const cases: Array<[string[], Record<string, string>, string]> = [
    [['--admin-token-env', 'ADM_NOPE'], {}, 'missing env var for --admin-token-env: ADM_NOPE'],
    [['--admin-read-token-env', 'ADM_BLANK'], { ADM_BLANK: ' ' }, '--admin-read-token-env is empty: ADM_BLANK'],
    [['--admin-token', 'a', '--admin-token-env', 'X'], {}, '--admin-token cannot be combined with --admin-token-env'],
    [['--admin-tenant-token', 'acme'], {}, '--admin-tenant-token must be TENANT_ID=TOKEN'],
    [['--admin-token', 'secret://env/ADM_NOPE'], {}, 'missing env var: ADM_NOPE'],
  ];
  for (const [flags, env, message] of cases) {
    const r = await runCli([cfg, ...flags], env);
    assert.equal(r.code, 1, flags.join(' '));
    assert.ok(r.stderr.startsWith(message), `${flags.join(' ')}: ${r.stderr}`);
  }
});

test('a token from --admin-token-env mounts /admin/*; other tokens get 401', async () => {
  const gw = await startCli([cfg, '--listen', '127.0.0.1:0', '--admin-token-env', 'ADM_TOKEN'], { ADM_TOKEN: 'from-env-token' });
  try {
    const url = `http://${gw.address}/admin/audit`;
    const ok = await fetch(url, { headers: { 'x-admin-token': 'from-env-token' } });
    // Mounted and authenticated; without --sqlite/--redis the audit log is not configured.
    assert.equal(ok.status, 400);
    assert.deepEqual(await ok.json(), { error: { code: 'not_configured', message: 'this endpoint needs a persistent store (--sqlite or --redis)' } });
    const bad = await fetch(url, { headers: { authorization: 'Bearer ADM_TOKEN' } });
    assert.equal(bad.status, 401);
    await bad.body?.cancel();
  } finally {
    gw.child.kill('SIGTERM');
    await gw.exited;
  }
});

test('audit-verify: usage errors exit 2, an unreadable file exits 1, an empty export is 0 records', async () => {
  const none = await runCli(['audit-verify']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /usage: ditto-gateway audit-verify FILE/);
  const missing = await runCli(['audit-verify', join(dir, 'missing.jsonl')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^cannot read .*missing\.jsonl: ENOENT/);
  const empty = join(dir, 'empty.jsonl');
  writeFileSync(empty, '');
  const ok = await runCli(['audit-verify', empty]);
  assert.equal(ok.code, 0);
  assert.equal(ok.stdout, 'audit chain ok: 0 records\n');
});
