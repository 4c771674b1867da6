import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CaseContext } from './conformance.js';
import { admit, allowed, rid } from './conformance-rate.js';
import type { AdmitResult, BudgetDenial, LedgerRow, Store } from './store.js';

/** Budget, reservation, settlement and reaping cases of the conformance suite (§4.8, §4.9, §7.6). */

function budgetDenied(r: AdmitResult, reason: 'budget_exceeded' | 'cost_budget_exceeded'): BudgetDenial {
  assert.ok(!r.allowed && r.reason === reason, `expected ${reason}, got ${JSON.stringify(r)}`);
  return r.budget;
}

async function ledger(store: Store, scope: string): Promise<LedgerRow> {
  const [row] = await store.listLedgers({ scopes: [scope] });
  assert.ok(row, `no ledger for ${scope}`);
  return row;
}

const HOUR = 3_600_000;

export function budgetCases(ctx: CaseContext): void {
  test('token budget: spent + reserved + ask ≤ total, exact fill allowed, denial details', () => ctx.withStore(async ({ store }) => {
    const budgets = [{ scope: 'k', totalTokens: 100 }];
    allowed(await admit(store, { budgets, tokens: 40 }));
    allowed(await admit(store, { budgets, tokens: 40 }));
    const d = budgetDenied(await admit(store, { budgets, tokens: 21 }), 'budget_exceeded');
    assert.deepEqual(d, { scope: 'k', dimension: 'tokens', limit: 100, spent: 0, reserved: 80, requested: 21, resetsAtMs: null });
    allowed(await admit(store, { budgets, tokens: 20 }));
    const row = await ledger(store, 'k');
    assert.deepEqual([row.spentTokens, row.reservedTokens, row.periodMs, row.resetsAtMs], [0, 100, null, null]);
  }));

  test('settle charges actual usage (even past the limit) and frees the reservation', () => ctx.withStore(async ({ store }, clock) => {
    const budgets = [{ scope: 'k', totalTokens: 100, totalMicros: 1_000 }];
    const a = rid();
    allowed(await admit(store, { requestId: a, budgets, tokens: 50, micros: 500 }));
    clock.advance(10);
    assert.deepEqual(await store.settle(a, { tokens: 130, micros: 1_250 }), { outcome: 'committed' });
    const row = await ledger(store, 'k');
    assert.deepEqual([row.spentTokens, row.reservedTokens, row.spentMicros, row.reservedMicros], [130, 0, 1_250, 0]);
    assert.equal(row.updatedAtMs, clock.t);
    budgetDenied(await admit(store, { budgets, tokens: 0, micros: 0 }), 'budget_exceeded');
    assert.deepEqual(await store.listReservations(), []);
  }));

  test('settlement is idempotent by request id: commit or release twice is a no-op', () => ctx.withStore(async ({ store }) => {
    const budgets = [{ scope: 'k', totalTokens: 1_000 }];
    const a = rid();
    const b = rid();
    allowed(await admit(store, { requestId: a, budgets, tokens: 100 }));
    allowed(await admit(store, { requestId: b, budgets, tokens: 100 }));
    assert.equal((await store.settle(a, { tokens: 70, micros: 0 })).outcome, 'committed');
    assert.equal((await store.settle(a, { tokens: 70, micros: 0 })).outcome, 'not_found');
    assert.equal((await store.release(a)).outcome, 'not_found');
    assert.equal((await store.release(b)).outcome, 'released');
    assert.equal((await store.release(b)).outcome, 'not_found');
    assert.equal((await store.settle(b, { tokens: 70, micros: 0 })).outcome, 'not_found');
    assert.equal((await store.settle('never-admitted', { tokens: 1, micros: 1 })).outcome, 'not_found');
    const row = await ledger(store, 'k');
    assert.deepEqual([row.spentTokens, row.reservedTokens], [70, 0]);
  }));

  test('a second admission under an open request id is refused and consumes nothing', () => ctx.withStore(async ({ store }) => {
    const req = { requestId: 'dup-1', rate: [{ scope: 'k', rpm: 10 }], budgets: [{ scope: 'k', totalTokens: 100 }], tokens: 10 };
    allowed(await admit(store, req));
    assert.deepEqual(await admit(store, req), { allowed: false, reason: 'duplicate_request' });
    assert.equal((await ledger(store, 'k')).reservedTokens, 10);
    const [s] = allowed(await admit(store, { rate: [{ scope: 'k', rpm: 10 }] }));
    assert.equal(s?.remaining, 8);
    await store.settle('dup-1', { tokens: 10, micros: 0 });
    allowed(await admit(store, req)); // closed ids may be admitted again
  }));

  test('USD budgets in micros; token budgets are checked first; scopes are all-or-nothing', () => ctx.withStore(async ({ store }) => {
    const budgets = [
      { scope: 'k', totalTokens: 1_000, totalMicros: 5_000_000 },
      { scope: 'tenant:t', totalMicros: 1_500_000 },
      { scope: 'user:u', totalTokens: 150 },
    ];
    allowed(await admit(store, { budgets, tokens: 100, micros: 1_000_000 }));
    const d = budgetDenied(await admit(store, { budgets, tokens: 10, micros: 600_000 }), 'cost_budget_exceeded');
    assert.deepEqual([d.scope, d.dimension, d.limit, d.reserved, d.requested], ['tenant:t', 'micros', 1_500_000, 1_000_000, 600_000]);
    budgetDenied(await admit(store, { budgets, tokens: 60, micros: 600_000 }), 'budget_exceeded');
    const rows = await store.listLedgers();
    assert.deepEqual(rows.map((r) => [r.scope, r.reservedTokens, r.reservedMicros]),
      [['k', 100, 1_000_000], ['tenant:t', 0, 1_000_000], ['user:u', 100, 0]]);
    const [info] = await store.listReservations();
    assert.deepEqual(info?.budgets, [
      { scope: 'k', tokens: 100, micros: 1_000_000 }, { scope: 'tenant:t', tokens: null, micros: 1_000_000 },
      { scope: 'user:u', tokens: 100, micros: null },
    ]);
  }));

  test('concurrent overspend: 200 simultaneous reservations, budget fits 50 → exactly 50; ledgers = sum of commits', () => ctx.withStore(async (h) => {
    const other = await h.replica();
    const budgets = [{ scope: 'key', totalTokens: 500, totalMicros: 50_000 }, { scope: 'tenant:t', totalTokens: 10_000 }];
    const ids = Array.from({ length: 200 }, () => rid('c'));
    const results = await Promise.all(ids.map((requestId, i) =>
      admit(i % 2 === 0 ? h.store : other, { requestId, budgets, tokens: 10, micros: 1_000 })));
    const won = ids.filter((_, i) => results[i]?.allowed);
    assert.equal(won.length, 50);
    assert.equal((await ledger(h.store, 'key')).reservedTokens, 500);
    let committed = 0;
    await Promise.all(won.map(async (id, i) => {
      const s = i % 2 === 0 ? h.store : other;
      if (i % 3 === 0) {
        assert.equal((await s.release(id)).outcome, 'released');
      } else {
        assert.equal((await s.settle(id, { tokens: 7 + (i % 5), micros: 600 })).outcome, 'committed');
        committed += 7 + (i % 5);
      }
    }));
    const key = await ledger(h.store, 'key');
    const commits = won.filter((_, i) => i % 3 !== 0).length;
    assert.deepEqual([key.spentTokens, key.reservedTokens, key.spentMicros, key.reservedMicros], [committed, 0, commits * 600, 0]);
    const tenant = await ledger(other, 'tenant:t');
    assert.deepEqual([tenant.spentTokens, tenant.reservedTokens], [committed, 0]);
    assert.deepEqual(await h.store.listReservations(), []);
  }));

  test('budget periods reset spent at aligned UTC boundaries; reservations carry over', () => ctx.withStore(async ({ store }, clock) => {
    const budgets = [{ scope: 'k', totalTokens: 100, periodMs: HOUR }];
    clock.advance(HOUR + 15 * 60_000);
    const a = rid();
    allowed(await admit(store, { requestId: a, budgets, tokens: 60 }));
    await store.settle(a, { tokens: 60, micros: 0 });
    const b = rid();
    allowed(await admit(store, { requestId: b, budgets, tokens: 30 }));
    const d = budgetDenied(await admit(store, { budgets, tokens: 20 }), 'budget_exceeded');
    assert.equal(d.resetsAtMs, clock.t - 15 * 60_000 + HOUR);
    let row = await ledger(store, 'k');
    assert.deepEqual([row.spentTokens, row.reservedTokens, row.periodStartMs, row.resetsAtMs],
      [60, 30, d.resetsAtMs - HOUR, d.resetsAtMs]);
    clock.advance(45 * 60_000); // exactly the next boundary
    row = await ledger(store, 'k');
    assert.deepEqual([row.spentTokens, row.reservedTokens, row.resetsAtMs], [0, 30, d.resetsAtMs + HOUR]);
    allowed(await admit(store, { budgets, tokens: 70 }));
    await store.settle(b, { tokens: 25, micros: 0 });
    row = await ledger(store, 'k');
    assert.deepEqual([row.spentTokens, row.reservedTokens], [25, 70]);
  }));

  test('reap releases reservations older than the bound, reports scanned/reaped/released, keeps younger ones', () => ctx.withStore(async ({ store }, clock) => {
    const [old1, old2, young] = ['old-a', 'old-b', 'young'];
    await store.admit({ requestId: old1, owner: 'host-a:1', budgets: [{ scope: 'k', totalTokens: 1_000, totalMicros: 1_000 }], tokens: 10, micros: 100 });
    await store.admit({ requestId: old2, owner: 'host-b:2', budgets: [{ scope: 'k', totalTokens: 1_000 }], tokens: 20 });
    const t0 = clock.t;
    clock.advance(10 * 60_000);
    await store.admit({ requestId: young, owner: 'host-a:1', budgets: [{ scope: 'k', totalTokens: 1_000 }], tokens: 40 });
    clock.advance(10 * 60_000);
    const listed = await store.listReservations();
    assert.deepEqual(listed.map((r) => [r.requestId, r.owner, r.createdMs]),
      [[old1, 'host-a:1', t0], [old2, 'host-b:2', t0], [young, 'host-a:1', t0 + 600_000]]);
    const dry = await store.reap({ olderThanMs: 15 * 60_000, dryRun: true });
    assert.deepEqual(dry, { dryRun: true, cutoffMs: clock.t - 900_000, budget: { scanned: 2, reaped: 0, released: 0 }, cost: { scanned: 1, reaped: 0, released: 0 } });
    assert.equal((await ledger(store, 'k')).reservedTokens, 70);
    const limited = await store.reap({ olderThanMs: 15 * 60_000, limit: 1 });
    assert.deepEqual([limited.budget.reaped, limited.budget.released, limited.cost.released], [1, 10, 100]);
    const rest = await store.reap({ olderThanMs: 15 * 60_000 });
    assert.deepEqual([rest.dryRun, rest.budget, rest.cost], [false, { scanned: 1, reaped: 1, released: 20 }, { scanned: 0, reaped: 0, released: 0 }]);
    const row = await ledger(store, 'k');
    assert.deepEqual([row.reservedTokens, row.reservedMicros, row.spentTokens], [40, 0, 0]);
    assert.deepEqual((await store.listReservations()).map((r) => r.requestId), [young]);
    assert.equal((await store.settle(old1, { tokens: 10, micros: 1 })).outcome, 'not_found');
    const all = await store.reap({ olderThanMs: 0 });
    assert.deepEqual(all.budget, { scanned: 1, reaped: 1, released: 40 });
    assert.deepEqual(await store.listReservations(), []);
  }));

  test('ledgers list by scope with prefix, scopes, limit and offset', () => ctx.withStore(async ({ store }) => {
    for (const scope of ['tenant:b', 'k2', 'tenant:a', 'k1', 'tenant:a:project:p']) {
      allowed(await admit(store, { budgets: [{ scope, totalTokens: 100 }], tokens: 1 }));
    }
    const names = (rows: LedgerRow[]) => rows.map((r) => r.scope);
    assert.deepEqual(names(await store.listLedgers()), ['k1', 'k2', 'tenant:a', 'tenant:a:project:p', 'tenant:b']);
    assert.deepEqual(names(await store.listLedgers({ prefix: 'tenant:' })), ['tenant:a', 'tenant:a:project:p', 'tenant:b']);
    assert.deepEqual(names(await store.listLedgers({ prefix: 'tenant:', limit: 1, offset: 1 })), ['tenant:a:project:p']);
    assert.deepEqual(names(await store.listLedgers({ scopes: ['tenant:b', 'nope', 'k1'] })), ['k1', 'tenant:b']);
  }));

  test('invalid amounts are programming errors, not denials', () => ctx.withStore(async ({ store }) => {
    await assert.rejects(admit(store, { tokens: -1 }), RangeError);
    await assert.rejects(admit(store, { tokens: 1.5 }), RangeError);
    await assert.rejects(admit(store, { budgets: [{ scope: 'k', totalTokens: 10 }, { scope: 'k', totalTokens: 10 }] }), TypeError);
    await assert.rejects(store.settle(rid(), { tokens: -3, micros: 0 }), RangeError);
    assert.deepEqual(await store.listReservations(), []);
  }));
}
