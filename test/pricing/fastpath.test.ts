import assert from 'node:assert/strict';
import { test } from 'node:test';
import { costPico, estimatePico, formatUsd, type ModelPrice, type TokenUsage } from '../../src/pricing/table.js';
import { seededRandom as rng } from '../helpers/rng.js';

// Prices are computed with doubles when every product is a safe integer, else with BigInt
// (src/pricing/table.ts): the answers must be the BigInt answers, including near 2^53.

const refCost = (p: ModelPrice, u: TokenUsage): bigint => {
  const cached = Math.min(u.cachedInput, u.input);
  const creation = Math.min(u.cacheCreation, u.input);
  const b = p.base;
  return BigInt(u.input - cached) * BigInt(b.input) + BigInt(cached) * BigInt(b.cacheRead ?? b.input) +
    BigInt(u.output) * BigInt(b.output) + BigInt(creation) * BigInt(b.cacheCreation ?? 0);
};

function refUsd(pico: bigint): string {
  const whole = pico / 1_000_000_000_000n;
  const frac = (pico % 1_000_000_000_000n).toString().padStart(12, '0').replace(/0+$/, '');
  return frac === '' ? whole.toString() : `${whole}.${frac}`;
}

test('costPico and estimatePico equal the BigInt computation, small and near 2^53', () => {
  const r = rng(11);
  const int = (max: number): number => Math.floor(r() * max);
  const scale = (): number => [1, 1e3, 1e6, 1e9, 1e12, 2 ** 40, 2 ** 53][int(7)] as number;
  let big = 0;
  for (let i = 0; i < 20_000; i++) {
    const p: ModelPrice = {
      base: { input: int(scale()), output: int(scale()), cacheRead: r() < 0.5 ? int(scale()) : undefined, cacheCreation: r() < 0.5 ? int(scale()) : undefined },
      priority: undefined, flex: undefined, tiers: [],
    };
    const input = int(scale());
    const u: TokenUsage = { input, output: int(scale()), cachedInput: int(input + 10), cacheCreation: int(input + 10), total: 0 };
    const want = refCost(p, u);
    if (want > BigInt(Number.MAX_SAFE_INTEGER)) big++;
    assert.equal(costPico(p, u, undefined), want, JSON.stringify({ p, u }));
    assert.equal(estimatePico(p, u.input, u.output, undefined), BigInt(u.input) * BigInt(p.base.input) + BigInt(u.output) * BigInt(p.base.output));
  }
  assert.ok(big > 1000, `the BigInt side was exercised (${big} sums above 2^53)`);
});

test('formatUsd equals the BigInt formatting around every boundary', () => {
  const r = rng(5);
  const edges = [0n, 1n, 10n, 999_999_999_999n, 1_000_000_000_000n, 1_000_000_000_001n, 37_500_000n,
    BigInt(Number.MAX_SAFE_INTEGER) - 1n, BigInt(Number.MAX_SAFE_INTEGER), BigInt(Number.MAX_SAFE_INTEGER) + 1n, 10n ** 30n + 7n];
  for (const e of edges) assert.equal(formatUsd(e), refUsd(e), String(e));
  for (let i = 0; i < 20_000; i++) {
    const v = BigInt(Math.floor(r() * 2 ** 26)) * BigInt(Math.floor(r() * 2 ** 27)) + BigInt(Math.floor(r() * 1000));
    const t = r() < 0.3 ? (v / 1_000_000n) * 1_000_000n : v;
    assert.equal(formatUsd(t), refUsd(t), String(t));
  }
  assert.equal(formatUsd(37_500_000n), '0.0000375');
});
