import type { AdmitRequest, RateDimension } from './store.js';

/**
 * Admission input checked and flattened once, before any store sees it: each rate limit becomes one
 * (scope, dimension) check and each budget keeps only the dimensions it limits. Invalid input is a
 * programming error (TypeError/RangeError), never a denial.
 */

/** `r` = requests per minute, `t` = tokens per minute. */
export type WindowDim = 'r' | 't';

export interface RateCheck {
  scope: string;
  dim: WindowDim;
  limit: number;
  cost: number;
}

export interface BudgetCheck {
  scope: string;
  tokenLimit: number | null;
  microLimit: number | null;
  periodMs: number | null;
}

export interface NormalizedAdmit {
  requestId: string;
  owner: string;
  tokens: number;
  micros: number;
  rate: RateCheck[];
  budgets: BudgetCheck[];
}

/** Throws unless `n` is an integer in [0, MAX_SAFE_INTEGER]. */
export function checkAmount(name: string, n: unknown): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${String(n)}`);
  }
  return n;
}

/** Throws unless `s` is a non-empty string. */
export function checkId(name: string, s: unknown): string {
  if (typeof s !== 'string' || s === '') throw new TypeError(`${name} must be a non-empty string`);
  return s;
}

/** Validate and flatten an {@link AdmitRequest}. */
export function normalizeAdmit(req: AdmitRequest): NormalizedAdmit {
  const requestId = checkId('requestId', req.requestId);
  const owner = typeof req.owner === 'string' ? req.owner : '';
  const tokens = checkAmount('tokens', req.tokens ?? 0);
  const micros = checkAmount('micros', req.micros ?? 0);
  const rate: RateCheck[] = [];
  const seenRate = new Set<string>();
  for (const r of req.rate ?? []) {
    const scope = checkId('rate scope', r.scope);
    if (seenRate.has(scope)) throw new TypeError(`duplicate rate scope: ${scope}`);
    seenRate.add(scope);
    if (r.rpm !== undefined) rate.push({ scope, dim: 'r', limit: checkAmount(`${scope} rpm`, r.rpm), cost: 1 });
    if (r.tpm !== undefined) rate.push({ scope, dim: 't', limit: checkAmount(`${scope} tpm`, r.tpm), cost: tokens });
  }
  const budgets: BudgetCheck[] = [];
  const seenBudget = new Set<string>();
  for (const b of req.budgets ?? []) {
    const scope = checkId('budget scope', b.scope);
    if (seenBudget.has(scope)) throw new TypeError(`duplicate budget scope: ${scope}`);
    seenBudget.add(scope);
    const tokenLimit = b.totalTokens === undefined ? null : checkAmount(`${scope} totalTokens`, b.totalTokens);
    const microLimit = b.totalMicros === undefined ? null : checkAmount(`${scope} totalMicros`, b.totalMicros);
    if (tokenLimit === null && microLimit === null) continue;
    let periodMs: number | null = null;
    if (b.periodMs !== undefined) {
      periodMs = checkAmount(`${scope} periodMs`, b.periodMs);
      if (periodMs === 0) throw new RangeError(`${scope} periodMs must be > 0`);
    }
    budgets.push({ scope, tokenLimit, microLimit, periodMs });
  }
  return { requestId, owner, tokens, micros, rate, budgets };
}

/** Public name of a window dimension. */
export function dimensionName(dim: WindowDim): RateDimension {
  return dim === 'r' ? 'requests' : 'tokens';
}

/** Start of the budget period containing `nowMs` (UTC-epoch aligned). */
export function periodStart(nowMs: number, periodMs: number): number {
  return Math.floor(nowMs / periodMs) * periodMs;
}
