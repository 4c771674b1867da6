import type { AdmitRequest, BudgetRule, RateDimension, RateRule } from './store.js';

/**
 * Admission input checked and flattened once, before any store sees it: each rate limit becomes one
 * (scope, dimension) check and each budget keeps only the dimensions it limits. Invalid input is a
 * programming error (TypeError/RangeError), never a denial.
 */

/** `r` = requests per minute, `t` = tokens per minute. */
export type WindowDim = 'r' | 't';

export interface RateCheck {
  readonly scope: string;
  readonly dim: WindowDim;
  readonly limit: number;
}

/** What one admission adds to a rate window: 1 request, or the estimated tokens. */
export function rateCost(c: RateCheck, tokens: number): number {
  return c.dim === 'r' ? 1 : tokens;
}

export interface BudgetCheck {
  readonly scope: string;
  readonly tokenLimit: number | null;
  readonly microLimit: number | null;
  readonly periodMs: number | null;
}

export interface NormalizedAdmit {
  requestId: string;
  owner: string;
  tokens: number;
  micros: number;
  rate: readonly RateCheck[];
  budgets: readonly BudgetCheck[];
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

/**
 * Validated, flattened rule lists of frozen inputs (a key's plan is built once and frozen, see
 * `buildPlan`): each request under that key reuses them instead of checking its rules again.
 */
const rateChecks = new WeakMap<readonly RateRule[], readonly RateCheck[]>();
const budgetChecks = new WeakMap<readonly BudgetRule[], readonly BudgetCheck[]>();

const NONE: readonly never[] = Object.freeze([]);

/** Validate and flatten an {@link AdmitRequest}. */
export function normalizeAdmit(req: AdmitRequest): NormalizedAdmit {
  const requestId = checkId('requestId', req.requestId);
  const owner = typeof req.owner === 'string' ? req.owner : '';
  const tokens = checkAmount('tokens', req.tokens ?? 0);
  const micros = checkAmount('micros', req.micros ?? 0);
  return { requestId, owner, tokens, micros, rate: cached(req.rate, rateChecks, flattenRate), budgets: cached(req.budgets, budgetChecks, flattenBudgets) };
}

function cached<R, C>(rules: readonly R[] | undefined, cache: WeakMap<readonly R[], readonly C[]>, flatten: (rules: readonly R[]) => C[]): readonly C[] {
  if (rules === undefined || rules.length === 0) return NONE;
  if (!Object.isFrozen(rules)) return flatten(rules);
  let out = cache.get(rules);
  if (out === undefined) {
    out = Object.freeze(flatten(rules));
    cache.set(rules, out);
  }
  return out;
}

function flattenRate(rules: readonly RateRule[]): RateCheck[] {
  const rate: RateCheck[] = [];
  const seenRate = new Set<string>();
  for (const r of rules) {
    const scope = checkId('rate scope', r.scope);
    if (seenRate.has(scope)) throw new TypeError(`duplicate rate scope: ${scope}`);
    seenRate.add(scope);
    if (r.rpm !== undefined) rate.push({ scope, dim: 'r', limit: checkAmount(`${scope} rpm`, r.rpm) });
    if (r.tpm !== undefined) rate.push({ scope, dim: 't', limit: checkAmount(`${scope} tpm`, r.tpm) });
  }
  return rate;
}

function flattenBudgets(rules: readonly BudgetRule[]): BudgetCheck[] {
  const budgets: BudgetCheck[] = [];
  const seenBudget = new Set<string>();
  for (const b of rules) {
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
  return budgets;
}

/** Public name of a window dimension. */
export function dimensionName(dim: WindowDim): RateDimension {
  return dim === 'r' ? 'requests' : 'tokens';
}

/** Start of the budget period containing `nowMs` (UTC-epoch aligned). */
export function periodStart(nowMs: number, periodMs: number): number {
  return Math.floor(nowMs / periodMs) * periodMs;
}
