import { dimensionName, normalizeAdmit, periodStart, rateCost, type BudgetCheck, type WindowDim } from './admission.js';
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

function newLedger(now: number): LedgerData {
  return {
    spentTokens: 0, reservedTokens: 0, spentMicros: 0, reservedMicros: 0,
    periodMs: null, periodStartMs: null, updatedAtMs: now,
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

const DIMENSIONS = ['tokens', 'micros'] as const;

/** The admission algorithm: check everything, then consume everything. */
export function admitTx(tx: GovernanceTx, req: AdmitRequest, now: number): AdmitResult {
  const a = normalizeAdmit(req);
  if (tx.getReservation(a.requestId)) return { allowed: false, reason: 'duplicate_request' };
  const cur0 = bucketOf(now);

  const windows: { scope: string; dim: WindowDim; w: WindowData; existed: boolean; cur: number; cost: number; limit: number }[] = [];
  for (const c of a.rate) {
    const cost = rateCost(c, a.tokens);
    const stored = tx.getWindow(c.scope, c.dim);
    const w = stored ?? emptyWindow(cur0);
    const cur = advanceWindow(w, cur0);
    if (c.limit === 0 || w.total + cost > c.limit) {
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
    windows.push({ scope: c.scope, dim: c.dim, w, existed: stored !== undefined, cur, cost, limit: c.limit });
  }

  // Index-aligned with a.budgets (their scopes are unique).
  const ledgers: LedgerData[] = [];
  for (const b of a.budgets) {
    const l = tx.getLedger(b.scope) ?? newLedger(now);
    applyPeriod(l, b, now);
    ledgers.push(l);
  }
  for (const dimension of DIMENSIONS) {
    for (let i = 0; i < a.budgets.length; i++) {
      const b = a.budgets[i] as BudgetCheck;
      const limit = dimension === 'tokens' ? b.tokenLimit : b.microLimit;
      if (limit === null) continue;
      const l = ledgers[i] as LedgerData;
      const spent = dimension === 'tokens' ? l.spentTokens : l.spentMicros;
      const reserved = dimension === 'tokens' ? l.reservedTokens : l.reservedMicros;
      const requested = dimension === 'tokens' ? a.tokens : a.micros;
      if (spent + reserved + requested > limit) {
        return {
          allowed: false,
          reason: dimension === 'tokens' ? 'budget_exceeded' : 'cost_budget_exceeded',
          budget: {
            scope: b.scope, dimension, limit, spent, reserved, requested,
            resetsAtMs: l.periodMs === null || l.periodStartMs === null ? null : l.periodStartMs + l.periodMs,
          },
        };
      }
    }
  }

  const rate: RateState[] = [];
  const res: ReservationData = { requestId: a.requestId, owner: a.owner, createdMs: now, budgets: [], rate: [] };
  for (const x of windows) {
    // Entries with amount 0 are kept too: a settle may still correct a tpm charge upwards.
    res.rate.push({ scope: x.scope, dim: x.dim, bucket: x.cur, amount: x.cost });
    if (x.cost > 0) addToWindow(x.w, x.cur, x.cost);
    if (x.cost > 0 || x.existed) tx.putWindow(x.scope, x.dim, x.w);
    rate.push({
      scope: x.scope, dimension: dimensionName(x.dim), limit: x.limit,
      remaining: Math.max(0, x.limit - x.w.total), resetMs: resetAfterMs(x.w, now),
    });
  }
  for (let i = 0; i < a.budgets.length; i++) {
    const b = a.budgets[i] as BudgetCheck;
    const l = ledgers[i] as LedgerData;
    if (b.tokenLimit !== null) l.reservedTokens += a.tokens;
    if (b.microLimit !== null) l.reservedMicros += a.micros;
    l.updatedAtMs = now;
    tx.putLedger(b.scope, l);
    res.budgets.push({
      scope: b.scope,
      tokens: b.tokenLimit === null ? null : a.tokens,
      micros: b.microLimit === null ? null : a.micros,
    });
  }
  tx.putReservation(res);
  return { allowed: true, rate };
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
  for (const e of r.budgets) {
    const l = tx.getLedger(e.scope) ?? newLedger(now);
    rolloverLedger(l, now);
    if (e.tokens !== null) {
      l.reservedTokens = Math.max(0, l.reservedTokens - e.tokens);
      if (mode.kind === 'commit') l.spentTokens += mode.usage.tokens;
    }
    if (e.micros !== null) {
      l.reservedMicros = Math.max(0, l.reservedMicros - e.micros);
      if (mode.kind === 'commit') l.spentMicros += mode.usage.micros;
    }
    l.updatedAtMs = now;
    tx.putLedger(e.scope, l);
  }
  const refund = mode.kind === 'release' && mode.refundRate;
  const correctTo = mode.kind === 'commit' ? mode.usage.rateTokens : undefined;
  if (refund || correctTo !== undefined) {
    for (const e of r.rate) {
      if (!refund && e.dim !== 't') continue;
      const w = tx.getWindow(e.scope, e.dim);
      if (!w) continue;
      advanceWindow(w, bucketOf(now));
      const delta = refund ? -e.amount : (correctTo as number) - e.amount;
      if (delta < 0) removeFromWindow(w, e.bucket, -delta);
      else if (e.bucket >= w.oldest) addToWindow(w, e.bucket, delta);
      tx.putWindow(e.scope, e.dim, w);
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
