import { dimensionName, normalizeAdmit, periodStart, rateCost, type BudgetCheck, type RateCheck, type WindowDim } from './admission.js';
import type { AdmitRequest, AdmitResult, LedgerRow, RateState, ReapReport, ReservationInfo, SettleUsage } from './store.js';
import {
  WINDOW_MS, addToWindow, advanceWindow, bucketOf, emptyWindow, removeFromWindow, resetAfterMs, retryAfterMs,
  type WindowData,
} from './window.js';

/**
 * Governance logic shared by the memory and SQLite stores, written once against a synchronous
 * {@link GovernanceTx}. The caller supplies atomicity: the memory store runs each operation as one
 * synchronous call, the SQLite store inside one `BEGIN IMMEDIATE` transaction. Redis runs the same
 * rules in Lua (`redis-lua.ts`); the conformance suite holds all three to the same results.
 */

/** A scope's ledger as stored. `spent*` belong to the period starting at `periodStartMs`. */
export interface LedgerData {
  spentTokens: number;
  reservedTokens: number;
  spentMicros: number;
  reservedMicros: number;
  periodMs: number | null;
  periodStartMs: number | null;
  updatedAtMs: number;
}

/** An open reservation as stored: what to give back, and where. */
export interface ReservationData {
  requestId: string;
  owner: string;
  createdMs: number;
  budgets: { scope: string; tokens: number | null; micros: number | null }[];
  rate: { scope: string; dim: WindowDim; bucket: number; amount: number }[];
}

/** Synchronous storage primitives; objects returned may be mutated and written back with `put*`. */
export interface GovernanceTx {
  /**
   * Objects returned by `get*` are the stored ones (the memory store): a changed window or ledger that
   * was found needs no `put*` back; only new ones are put.
   */
  readonly byReference?: boolean;
  getWindow(scope: string, dim: WindowDim): WindowData | undefined;
  putWindow(scope: string, dim: WindowDim, w: WindowData): void;
  getLedger(scope: string): LedgerData | undefined;
  putLedger(scope: string, l: LedgerData): void;
  getReservation(requestId: string): ReservationData | undefined;
  putReservation(r: ReservationData): void;
  deleteReservation(requestId: string): void;
  /** Reservations with `createdMs <= cutoffMs`, oldest first, at most `limit`. */
  oldReservations(cutoffMs: number, limit: number): ReservationData[];
}

/** A ledger not stored yet (`updatedAtMs` -1 marks it new until an admission stamps it). */
function newLedger(): LedgerData {
  return {
    spentTokens: 0, reservedTokens: 0, spentMicros: 0, reservedMicros: 0,
    periodMs: null, periodStartMs: null, updatedAtMs: -1,
  };
}

/** Start a new budget period if the current one has ended: spent amounts reset, reservations stay. */
export function rolloverLedger(l: LedgerData, now: number): void {
  if (l.periodMs === null) return;
  const start = periodStart(now, l.periodMs);
  if (l.periodStartMs === null || start > l.periodStartMs) {
    if (l.periodStartMs !== null) {
      l.spentTokens = 0;
      l.spentMicros = 0;
    }
    l.periodStartMs = start;
  }
}

/** Adopt the configured period; a changed period starts counting at its current boundary without a reset. */
function applyPeriod(l: LedgerData, b: BudgetCheck, now: number): void {
  if (b.periodMs !== l.periodMs) {
    l.periodMs = b.periodMs;
    l.periodStartMs = b.periodMs === null ? null : periodStart(now, b.periodMs);
  }
  rolloverLedger(l, now);
}

/** A ledger as reported: the current period applied without writing. */
export function ledgerRow(scope: string, stored: LedgerData, now: number): LedgerRow {
  const l = { ...stored };
  rolloverLedger(l, now);
  return {
    scope,
    spentTokens: l.spentTokens,
    reservedTokens: l.reservedTokens,
    spentMicros: l.spentMicros,
    reservedMicros: l.reservedMicros,
    updatedAtMs: l.updatedAtMs,
    periodMs: l.periodMs,
    periodStartMs: l.periodStartMs,
    resetsAtMs: l.periodMs === null || l.periodStartMs === null ? null : l.periodStartMs + l.periodMs,
  };
}

/** The result of an admission that was denied as a duplicate (nothing consumed). */
const DUPLICATE: AdmitResult = Object.freeze({ allowed: false, reason: 'duplicate_request' });
// Shared by every allowed result without states: frozen, so no caller can fill it for the others.
const NO_STATES = Object.freeze([]) as unknown as RateState[];

/** One rate window an admission will add to. */
interface WindowUse {
  check: RateCheck;
  w: WindowData;
  existed: boolean;
  cur: number;
  cost: number;
}

/**
 * The admission algorithm: check everything, then consume everything. With `states: false` in the request
 * an allowed result carries no window states (the request path sends `x-ratelimit-*` on 429 only).
 */
export function admitTx(tx: GovernanceTx, req: AdmitRequest, now: number): AdmitResult {
  const a = normalizeAdmit(req);
  if (tx.getReservation(a.requestId) !== undefined) return DUPLICATE;
  const cur0 = bucketOf(now);
  const checks = a.rate;
  const budgets = a.budgets;

  const windows: WindowUse[] = new Array<WindowUse>(checks.length);
  for (let i = 0; i < checks.length; i++) {
    const c = checks[i] as RateCheck;
    const cost = rateCost(c, a.tokens);
    const stored = tx.getWindow(c.scope, c.dim);
    const w = stored ?? emptyWindow(cur0);
    const cur = advanceWindow(w, cur0);
    if (c.limit === 0 || w.total + cost > c.limit) return rateDenied(c, w, now, cost);
    windows[i] = { check: c, w, existed: stored !== undefined, cur, cost };
  }

  // Index-aligned with the budgets (their scopes are unique).
  const ledgers: LedgerData[] = new Array<LedgerData>(budgets.length);
  for (let i = 0; i < budgets.length; i++) {
    const b = budgets[i] as BudgetCheck;
    const l = tx.getLedger(b.scope) ?? newLedger();
    applyPeriod(l, b, now);
    ledgers[i] = l;
  }
  // Every token budget first, then every USD budget (the first failing one answers).
  for (let i = 0; i < budgets.length; i++) {
    const b = budgets[i] as BudgetCheck;
    const l = ledgers[i] as LedgerData;
    if (b.tokenLimit !== null && l.spentTokens + l.reservedTokens + a.tokens > b.tokenLimit) {
      return budgetDenied('tokens', b, b.tokenLimit, l, l.spentTokens, l.reservedTokens, a.tokens);
    }
  }
  for (let i = 0; i < budgets.length; i++) {
    const b = budgets[i] as BudgetCheck;
    const l = ledgers[i] as LedgerData;
    if (b.microLimit !== null && l.spentMicros + l.reservedMicros + a.micros > b.microLimit) {
      return budgetDenied('micros', b, b.microLimit, l, l.spentMicros, l.reservedMicros, a.micros);
    }
  }

  const byRef = tx.byReference === true;
  const wantStates = req.states !== false && windows.length > 0;
  const states: RateState[] = wantStates ? new Array<RateState>(windows.length) : NO_STATES;
  const res: ReservationData = {
    requestId: a.requestId, owner: a.owner, createdMs: now,
    budgets: new Array<ReservationData['budgets'][number]>(budgets.length),
    rate: new Array<ReservationData['rate'][number]>(windows.length),
  };
  for (let i = 0; i < windows.length; i++) {
    const x = windows[i] as WindowUse;
    const c = x.check;
    // Entries with amount 0 are kept too: a settle may still correct a tpm charge upwards.
    res.rate[i] = { scope: c.scope, dim: c.dim, bucket: x.cur, amount: x.cost };
    if (x.cost > 0) addToWindow(x.w, x.cur, x.cost);
    if (x.existed ? !byRef : x.cost > 0) tx.putWindow(c.scope, c.dim, x.w);
    if (wantStates) {
      states[i] = {
        scope: c.scope, dimension: dimensionName(c.dim), limit: c.limit,
        remaining: Math.max(0, c.limit - x.w.total), resetMs: resetAfterMs(x.w, now),
      };
    }
  }
  for (let i = 0; i < budgets.length; i++) {
    const b = budgets[i] as BudgetCheck;
    const l = ledgers[i] as LedgerData;
    const fresh = l.updatedAtMs === -1;
    if (b.tokenLimit !== null) l.reservedTokens += a.tokens;
    if (b.microLimit !== null) l.reservedMicros += a.micros;
    l.updatedAtMs = now;
    if (fresh || !byRef) tx.putLedger(b.scope, l);
    res.budgets[i] = {
      scope: b.scope,
      tokens: b.tokenLimit === null ? null : a.tokens,
      micros: b.microLimit === null ? null : a.micros,
    };
  }
  tx.putReservation(res);
  return { allowed: true, rate: states };
}

function rateDenied(c: RateCheck, w: WindowData, now: number, cost: number): AdmitResult {
  const retry = retryAfterMs(w, now, c.limit, cost);
  return {
    allowed: false,
    reason: 'rate_limited',
    rate: {
      scope: c.scope, dimension: dimensionName(c.dim), limit: c.limit,
      remaining: Math.max(0, c.limit - w.total), resetMs: resetAfterMs(w, now),
      requested: cost, retryAfterMs: retry ?? WINDOW_MS, satisfiable: retry !== null,
    },
  };
}

function budgetDenied(
  dimension: 'tokens' | 'micros', b: BudgetCheck, limit: number, l: LedgerData, spent: number, reserved: number, requested: number,
): AdmitResult {
  return {
    allowed: false,
    reason: dimension === 'tokens' ? 'budget_exceeded' : 'cost_budget_exceeded',
    budget: {
      scope: b.scope, dimension, limit, spent, reserved, requested,
      resetsAtMs: l.periodMs === null || l.periodStartMs === null ? null : l.periodStartMs + l.periodMs,
    },
  };
}

/** How a reservation is closed. `reap` releases budgets like `release` but never refunds rates. */
export type CloseMode =
  | { kind: 'commit'; usage: SettleUsage }
  | { kind: 'release'; refundRate: boolean }
  | { kind: 'reap' };

/** Close one reservation; false if there was none (idempotency). */
export function closeTx(tx: GovernanceTx, requestId: string, mode: CloseMode, now: number): boolean {
  const r = tx.getReservation(requestId);
  if (!r) return false;
  closeReservation(tx, r, mode, now);
  return true;
}

function closeReservation(tx: GovernanceTx, r: ReservationData, mode: CloseMode, now: number): void {
  const byRef = tx.byReference === true;
  const commit = mode.kind === 'commit' ? mode.usage : undefined;
  for (let i = 0; i < r.budgets.length; i++) {
    const e = r.budgets[i] as ReservationData['budgets'][number];
    const stored = tx.getLedger(e.scope);
    const l = stored ?? newLedger();
    rolloverLedger(l, now);
    if (e.tokens !== null) {
      l.reservedTokens = Math.max(0, l.reservedTokens - e.tokens);
      if (commit !== undefined) l.spentTokens += commit.tokens;
    }
    if (e.micros !== null) {
      l.reservedMicros = Math.max(0, l.reservedMicros - e.micros);
      if (commit !== undefined) l.spentMicros += commit.micros;
    }
    l.updatedAtMs = now;
    if (stored === undefined || !byRef) tx.putLedger(e.scope, l);
  }
  const refund = mode.kind === 'release' && mode.refundRate;
  const correctTo = commit?.rateTokens;
  if (refund || correctTo !== undefined) {
    const cur = bucketOf(now);
    for (let i = 0; i < r.rate.length; i++) {
      const e = r.rate[i] as ReservationData['rate'][number];
      if (!refund && e.dim !== 't') continue;
      const w = tx.getWindow(e.scope, e.dim);
      if (!w) continue;
      advanceWindow(w, cur);
      const delta = refund ? -e.amount : (correctTo as number) - e.amount;
      if (delta === 0 && byRef) continue;
      if (delta < 0) removeFromWindow(w, e.bucket, -delta);
      else if (e.bucket >= w.oldest) addToWindow(w, e.bucket, delta);
      if (!byRef) tx.putWindow(e.scope, e.dim, w);
    }
  }
  tx.deleteReservation(r.requestId);
}

/** Reap reservations created at or before `now - olderThanMs`. */
export function reapTx(tx: GovernanceTx, olderThanMs: number, limit: number, dryRun: boolean, now: number): ReapReport {
  const cutoffMs = now - olderThanMs;
  const report: ReapReport = {
    dryRun, cutoffMs,
    budget: { scanned: 0, reaped: 0, released: 0 },
    cost: { scanned: 0, reaped: 0, released: 0 },
  };
  for (const r of tx.oldReservations(cutoffMs, limit)) {
    const tokens = r.budgets.filter((b) => b.tokens !== null);
    const micros = r.budgets.filter((b) => b.micros !== null);
    if (tokens.length > 0) report.budget.scanned++;
    if (micros.length > 0) report.cost.scanned++;
    if (dryRun) continue;
    closeReservation(tx, r, { kind: 'reap' }, now);
    if (tokens.length > 0) {
      report.budget.reaped++;
      report.budget.released += tokens.reduce((s, b) => s + (b.tokens ?? 0), 0);
    }
    if (micros.length > 0) {
      report.cost.reaped++;
      report.cost.released += micros.reduce((s, b) => s + (b.micros ?? 0), 0);
    }
  }
  return report;
}

/** The public view of a stored reservation. */
export function reservationInfo(r: ReservationData): ReservationInfo {
  return { requestId: r.requestId, owner: r.owner, createdMs: r.createdMs, budgets: r.budgets.map((b) => ({ ...b })) };
}
