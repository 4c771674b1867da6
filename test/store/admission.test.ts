import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeAdmit, rateCost } from '../../src/store/admission.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { BudgetRule, RateRule } from '../../src/store/store.js';
import { buildPlan } from '../../src/usage/governance.js';

const rules = (): { rate: RateRule[]; budgets: BudgetRule[] } => ({
  rate: [{ scope: 'k', rpm: 10, tpm: 500 }, { scope: 'tenant:t', tpm: 900 }],
  budgets: [{ scope: 'k', totalTokens: 1000, periodMs: 60_000 }, { scope: 'tenant:t', totalMicros: 5 }, { scope: 'x' }],
});

test('admission: a frozen rule list (a key plan) normalizes to the same checks as a fresh one, and is reused', () => {
  const fresh = rules();
  const frozen = { rate: Object.freeze(rules().rate), budgets: Object.freeze(rules().budgets) };
  const a = normalizeAdmit({ requestId: 'r1', owner: 'o', tokens: 7, micros: 3, ...fresh });
  const b = normalizeAdmit({ requestId: 'r2', owner: 'o', tokens: 9, micros: 4, ...frozen });
  assert.deepEqual(b.rate, a.rate);
  assert.deepEqual(b.budgets, a.budgets);
  assert.deepEqual(a.rate.map((c) => rateCost(c, a.tokens)), [1, 7, 7]);
  assert.deepEqual(b.rate.map((c) => rateCost(c, b.tokens)), [1, 9, 9]);
  // The per-request amounts are the request's own, the flattened rules are shared.
  const c = normalizeAdmit({ requestId: 'r3', owner: 'o', tokens: 1, ...frozen });
  assert.equal(c.rate, b.rate);
  assert.equal(c.budgets, b.budgets);
  assert.equal(c.tokens, 1);
  assert.notEqual(normalizeAdmit({ requestId: 'r4', owner: 'o', ...fresh }).rate, a.rate);
});

test('admission: an invalid frozen rule list is refused on every request, never cached', () => {
  const bad = Object.freeze([{ scope: 'k', rpm: -1 }]);
  for (let i = 0; i < 2; i++) assert.throws(() => normalizeAdmit({ requestId: `r${i}`, owner: '', rate: bad }), /k rpm must be a non-negative safe integer/);
  const dup = Object.freeze([{ scope: 'k', totalTokens: 1 }, { scope: 'k', totalTokens: 2 }]);
  for (let i = 0; i < 2; i++) assert.throws(() => normalizeAdmit({ requestId: `r${i}`, owner: '', budgets: dup }), /duplicate budget scope: k/);
});

test('admission: key plans are frozen, and a plan admits through the synchronous memory path like the promise one', async () => {
  const plan = buildPlan({ id: 'k', token: 'sk-x', enabled: true, limits: { rpm: 2 }, budget: { total_tokens: 100 } } as Parameters<typeof buildPlan>[0]);
  assert.ok(Object.isFrozen(plan.rate) && Object.isFrozen(plan.budgets));
  assert.ok(plan.rate.every((r) => Object.isFrozen(r)) && plan.budgets.every((b) => Object.isFrozen(b)));
  const store = new MemoryStore({ clock: () => 1_000_000 });
  const req = (id: string): Parameters<MemoryStore['admit']>[0] => ({ requestId: id, owner: 'o', rate: plan.rate, budgets: plan.budgets, tokens: 40 });
  assert.equal(store.sync.admit(req('a')).allowed, true);
  assert.equal((await store.admit(req('b'))).allowed, true);
  const third = store.sync.admit(req('c'));
  assert.equal(third.allowed, false);
  assert.equal(!third.allowed && third.reason, 'rate_limited');
  assert.deepEqual(store.sync.settle('a', { tokens: 10, micros: 0 }), { outcome: 'committed' });
  assert.deepEqual(store.sync.release('b'), { outcome: 'released' });
  const [ledger] = await store.listLedgers({ scopes: ['k'] });
  assert.equal(ledger?.spentTokens, 10);
  assert.equal(ledger?.reservedTokens, 0);
  await store.close();
  assert.throws(() => store.sync.admit(req('d')), /memory store is closed/);
});

test('admission: `states: false` skips the window states of an allowed result, and counts exactly the same', async () => {
  const now = (): number => 1_800_000_000_000;
  const withStates = new MemoryStore({ clock: now });
  const without = new MemoryStore({ clock: now });
  const req = (id: string, states?: boolean): Parameters<MemoryStore['admit']>[0] => ({
    requestId: id, owner: 'o', tokens: 40, micros: 2, states, ...rules(),
  });
  for (let i = 0; i < 12; i++) {
    const a = await withStates.admit(req(`r${i}`));
    const b = await without.admit(req(`r${i}`, false));
    if (a.allowed) {
      assert.ok(a.rate.length === 3, 'states by default');
      assert.ok(b.allowed);
      assert.deepEqual(b.rate, []);
    } else {
      assert.deepEqual(b, a, `request ${i}: the same denial`);
    }
    if (i % 3 === 0) {
      assert.deepEqual(await without.settle(`r${i}`, { tokens: 30, micros: 1, rateTokens: 30 }), await withStates.settle(`r${i}`, { tokens: 30, micros: 1, rateTokens: 30 }));
    }
  }
  assert.deepEqual(await without.listLedgers(), await withStates.listLedgers());
  assert.deepEqual(await without.listReservations(), await withStates.listReservations());
  // The next admission with states shows the same windows on both.
  assert.deepEqual(await without.admit(req('last')), await withStates.admit(req('last')));
});
