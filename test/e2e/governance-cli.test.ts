import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/index.js';
import { runCli, startCli } from '../cli/run.js';
import { chatBody, post, TOKEN } from './governance-kit.js';

const dir = mkdtempSync(join(tmpdir(), 'ditto-gov-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const cfg = join(dir, 'gateway.json');
writeFileSync(cfg, JSON.stringify({
  backends: [{ name: 'm', provider: 'mock' }],
  virtual_keys: [{ id: 'k1', token: TOKEN, enabled: true, budget: { total_tokens: 100000 } }],
  router: { default_backends: [{ backend: 'm' }] },
}));

describe('governance CLI flags (§1.2, §1.3)', { timeout: 120_000 }, () => {
  const fatal: Array<[string[], Record<string, string>, RegExp]> = [
    [['--redis', 'redis://x', '--redis-env', 'R'], {}, /^--redis cannot be combined with --redis-env$/m],
    [['--sqlite', join(dir, 'a.db'), '--redis', 'redis://x'], {}, /^choose exactly one of --state, --sqlite, --pg\/--postgres, --mysql, or --redis$/m],
    [['--state', join(dir, 's.json'), '--sqlite', join(dir, 'a.db')], {}, /^choose exactly one of/m],
    [['--redis-prefix', 'p'], {}, /^--redis-prefix requires --redis or --redis-env$/m],
    [['--redis-env', 'NO_SUCH_VAR_X'], {}, /^missing env var for --redis-env: NO_SUCH_VAR_X$/m],
    [['--redis-env', 'BLANK_VAR'], { BLANK_VAR: '  ' }, /^redis URL is empty: BLANK_VAR$/m],
    [['--pricing-litellm', join(dir, 'missing.json')], {}, /cannot read --pricing-litellm/],
    [['--db-doctor'], {}, /--db-doctor requires --sqlite or --redis/],
  ];
  for (const [args, env, re] of fatal) {
    test(`fatal: ${args.join(' ')}`, async () => {
      const r = await runCli([cfg, ...args, '--check'], env);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, re);
    });
  }

  test('--pg and --mysql are not flags of this build', async () => {
    const r = await runCli([cfg, '--pg', 'postgres://x']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^unknown arg: --pg$/m);
  });

  test('an invalid budget.duration is a startup error', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({
      backends: [{ name: 'm', provider: 'mock' }],
      virtual_keys: [{ id: 'k1', token: TOKEN, enabled: true, budget: { total_tokens: 1, duration: 'monthly' } }],
      router: { default_backends: [{ backend: 'm' }] },
    }));
    const r = await runCli([bad, '--check']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /virtual_keys\[0\]\.budget\.duration: invalid duration "monthly"/);
  });

  test('--sqlite: seeds keys from the config, later starts use the stored keys; --db-doctor passes', async () => {
    const db = join(dir, 'seed.db');
    const first = await startCli([cfg, '--listen', '127.0.0.1:0', '--sqlite', db]);
    try {
      const r = await post(`http://${first.address}`, chatBody().body);
      assert.equal(r.status, 200);
    } finally {
      first.child.kill('SIGTERM');
      await first.exited;
    }
    const s = await openStore({ kind: 'sqlite', path: db });
    const persisted = await s.loadConfig();
    const [led] = await s.listLedgers({ scopes: ['k1'] });
    const audit = await s.queryAudit({ limit: 10 });
    await s.close();
    assert.equal(persisted?.virtualKeys.length, 1);
    assert.match(persisted?.virtualKeys[0]?.token ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.ok((led?.spentTokens ?? 0) > 0, 'settled before the process exited');
    assert.equal(audit.length, 1);
    // A config file with another key: the store's keys win (§1.4), so the old token still works.
    const other = join(dir, 'other.json');
    writeFileSync(other, JSON.stringify({
      backends: [{ name: 'm', provider: 'mock' }],
      virtual_keys: [{ id: 'k9', token: 'sk-some-other-token', enabled: true }],
      router: { default_backends: [{ backend: 'm' }] },
    }));
    const second = await startCli([other, '--listen', '127.0.0.1:0', '--sqlite', db]);
    try {
      assert.equal((await post(`http://${second.address}`, chatBody().body)).status, 200);
      assert.equal((await post(`http://${second.address}`, chatBody().body, { authorization: 'Bearer sk-some-other-token' })).status, 401);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
    const doc = await runCli(['--db-doctor', '--sqlite', db]);
    assert.equal(doc.code, 0, doc.stderr);
    assert.equal(doc.stdout, 'db doctor: schema checks passed\n');
  });
});
