import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type { VirtualKeyConfig } from '../config/schema.js';
import type { CaseContext } from './conformance.js';
import { admit, allowed, rid } from './conformance-rate.js';

/** Audit, persisted keys/router and health cases of the conformance suite (§4.13, §4.15). */

const sha = (s: string): string => `sha256:${createHash('sha256').update(s).digest('hex')}`;

function key(id: string, token: string, extra: Partial<VirtualKeyConfig> = {}): VirtualKeyConfig {
  return { id, token, enabled: true, ...extra };
}

export function recordCases(ctx: CaseContext): void {
  test('audit: ids increase, store clock stamps, newest first, limit, since (≥) and before (<)', () => ctx.withStore(async ({ store }, clock) => {
    const appended = [];
    for (let i = 0; i < 5; i++) {
      appended.push(...await store.appendAudit([{ kind: 'proxy', payload: { n: i } }]));
      clock.advance(1_000);
    }
    const t0 = clock.t - 5_000;
    assert.deepEqual(appended.map((r) => r.tsMs), [t0, t0 + 1_000, t0 + 2_000, t0 + 3_000, t0 + 4_000]);
    for (let i = 1; i < appended.length; i++) assert.ok((appended[i]?.id ?? 0) > (appended[i - 1]?.id ?? 0));
    const all = await store.queryAudit({ limit: 100 });
    assert.deepEqual(all.map((r) => r.payload.n), [4, 3, 2, 1, 0]);
    assert.deepEqual(all[0], appended[4]);
    assert.deepEqual((await store.queryAudit({ limit: 2 })).map((r) => r.payload.n), [4, 3]);
    assert.deepEqual((await store.queryAudit({ limit: 100, sinceMs: t0 + 2_000 })).map((r) => r.payload.n), [4, 3, 2]);
    assert.deepEqual((await store.queryAudit({ limit: 100, beforeMs: t0 + 2_000 })).map((r) => r.payload.n), [1, 0]);
    assert.deepEqual((await store.queryAudit({ limit: 100, sinceMs: t0 + 1_000, beforeMs: t0 + 3_000 })).map((r) => r.payload.n), [2, 1]);
    assert.deepEqual(await store.queryAudit({ limit: 0 }), []);
  }));

  test('audit: explicit timestamps order records; equal timestamps order by id; payloads round-trip', () => ctx.withStore(async ({ store }, clock) => {
    const payload = { request_id: 'req-1', nested: { list: [1, 'two', null, true], 'ключ': '値 🚀' }, big: Number.MAX_SAFE_INTEGER };
    const recs = await store.appendAudit([
      { kind: 'proxy', payload, tsMs: clock.t + 50 },
      { kind: 'admin.key.upsert', payload: { id: 'a' }, tsMs: clock.t - 50 },
      { kind: 'proxy.blocked', payload: { id: 'b' } },
      { kind: 'proxy.blocked', payload: { id: 'c' } },
    ]);
    assert.deepEqual(recs.map((r) => r.tsMs), [clock.t + 50, clock.t - 50, clock.t, clock.t]);
    const got = await store.queryAudit({ limit: 10 });
    assert.deepEqual(got.map((r) => r.kind), ['proxy', 'proxy.blocked', 'proxy.blocked', 'admin.key.upsert']);
    assert.deepEqual(got.map((r) => r.payload.id), [undefined, 'c', 'b', 'a']);
    assert.deepEqual(got[0]?.payload, payload);
    assert.deepEqual(await store.appendAudit([]), []);
  }));

  test('audit retention prunes records older than the bound', () => ctx.withStore(async ({ store }, clock) => {
    await store.appendAudit([{ kind: 'proxy', payload: { n: 1 } }, { kind: 'proxy', payload: { n: 2 } }]);
    clock.advance(10_000);
    await store.appendAudit([{ kind: 'proxy', payload: { n: 3 } }]);
    clock.advance(5_000);
    assert.equal(await store.pruneAudit({ olderThanMs: 15_001 }), 0);
    assert.equal(await store.pruneAudit({ olderThanMs: 15_000 }), 0, 'a record exactly at the bound is kept');
    assert.equal(await store.pruneAudit({ olderThanMs: 14_999 }), 2);
    assert.deepEqual((await store.queryAudit({ limit: 10 })).map((r) => r.payload.n), [3]);
  }));

  test('settle and release append their audit record in the same step, also for an unknown id', () => ctx.withStore(async ({ store }) => {
    const a = rid();
    allowed(await admit(store, { requestId: a, budgets: [{ scope: 'k', totalTokens: 100 }], tokens: 10 }));
    const s = await store.settle(a, { tokens: 4, micros: 0 }, { audit: { kind: 'proxy', payload: { request_id: a, status: 200 } } });
    assert.equal(s.outcome, 'committed');
    assert.equal(s.audit?.kind, 'proxy');
    const r = await store.release('unknown', { audit: { kind: 'proxy.error', payload: { request_id: 'unknown' } } });
    assert.equal(r.outcome, 'not_found');
    const got = await store.queryAudit({ limit: 10 });
    assert.deepEqual(got.map((x) => [x.kind, x.payload.request_id]), [['proxy.error', 'unknown'], ['proxy', a]]);
    assert.deepEqual(got[1], s.audit);
  }));

  test('keys and router: unseeded is null; saved tokens are sha256 digests only; upsert/delete; replicas see them', () => ctx.withStore(async (h) => {
    const { store } = h;
    assert.equal(await store.loadConfig(), null);
    const digest = sha('already-hashed');
    await store.saveConfig({
      virtualKeys: [
        key('zeta', '  sk-zeta-secret  ', { tenant_id: 't1', limits: { rpm: 5 }, budget: { total_tokens: 1000, duration: '1d' } }),
        key('alpha', 'sk-alpha-secret'),
        key('hashed', digest.toUpperCase().replace('SHA256:', 'sha256:')),
      ],
      router: { default_backends: [{ backend: 'primary', weight: 1 }], rules: [{ model_prefix: 'gpt-4', exact: false, backend: 'b' }] },
    });
    const loaded = await store.loadConfig();
    assert.ok(loaded);
    assert.deepEqual(loaded.virtualKeys.map((k) => [k.id, k.token]),
      [['alpha', sha('sk-alpha-secret')], ['hashed', digest], ['zeta', sha('sk-zeta-secret')]]);
    assert.deepEqual(loaded.virtualKeys[2]?.limits, { rpm: 5 });
    assert.deepEqual(loaded.virtualKeys[2]?.budget, { total_tokens: 1000, duration: '1d' });
    assert.equal(loaded.virtualKeys[2]?.tenant_id, 't1');
    assert.deepEqual(loaded.router?.default_backends, [{ backend: 'primary', weight: 1 }]);
    assert.ok(!JSON.stringify(loaded).includes('secret'), 'no plaintext token is persisted');

    await store.upsertKey(key('alpha', 'sk-alpha-rotated', { enabled: false }));
    await store.upsertKey(key('beta', 'sk-beta'));
    assert.equal(await store.deleteKey('zeta'), true);
    assert.equal(await store.deleteKey('zeta'), false);
    await store.saveRouter(null);
    const other = await h.replica();
    const seen = await other.loadConfig();
    assert.deepEqual(seen?.virtualKeys.map((k) => [k.id, k.token, k.enabled]),
      [['alpha', sha('sk-alpha-rotated'), false], ['beta', sha('sk-beta'), true], ['hashed', digest, true]]);
    assert.equal(seen?.router, null);

    await store.saveConfig({ virtualKeys: [], router: null });
    assert.deepEqual(await store.loadConfig(), { virtualKeys: [], router: null }, 'seeded-but-empty is not unseeded');
    await assert.rejects(store.saveConfig({ virtualKeys: [key('x', 'a'), key('x', 'b')], router: null }), TypeError);
  }));

  test('ping resolves and doctor finds no problems on a fresh store', () => ctx.withStore(async ({ store }) => {
    await store.ping();
    const report = await store.doctor();
    assert.deepEqual(report.problems, []);
    assert.equal(report.store, store.kind);
    assert.ok(report.schemaVersion >= 1);
  }));
}
