import type { RouterConfig, VirtualKeyConfig } from '../config/schema.js';

export { StoreError, StoreSchemaError, StoreUnavailableError, isStoreUnavailable, type StoreName } from './errors.js';

/**
 * The governance store (STYLE §3.4 item 9; CONTRACT §4.7–4.9, §4.13, §4.15, §7.5, §7.6).
 *
 * Every method is atomic on its own: `admit` checks and consumes every rate window and reserves every
 * budget of a request in one critical section (memory: synchronous code; SQLite: one `BEGIN
 * IMMEDIATE` transaction; Redis: one Lua script, one round trip). Amounts are non-negative integers
 * no larger than `Number.MAX_SAFE_INTEGER`; money is integer USD micros. Semantics are pinned by the
 * shared conformance suite in `conformance.ts`, which every implementation passes.
 */
export interface Store extends ConfigStore {
  readonly kind: 'memory' | 'sqlite' | 'redis';

  /**
   * Admit one request: all rate windows (rpm +1, tpm +`tokens`) and all budget reservations
   * (`tokens` on token budgets, `micros` on USD budgets) at once, or nothing at all. An allowed
   * admission leaves a reservation under `requestId` that `settle` or `release` closes.
   */
  admit(req: AdmitRequest): Promise<AdmitResult>;

  /**
   * Present on a store whose request-path operations complete synchronously (the memory store):
   * `admit`, `settle` and `release` answered at once (failures thrown), so the pipeline allocates no
   * promise and waits no microtask for them. Same semantics as the asynchronous methods.
   */
  readonly sync?: SyncGovernance | undefined;

  /**
   * Close a reservation on success: reserved amounts leave every ledger and the actual usage is
   * charged to each (even past the limit). Idempotent: an unknown or already closed request id is a
   * no-op (`not_found`). `options.audit` is appended in the same atomic step.
   */
  settle(requestId: string, usage: SettleUsage, options?: SettleOptions): Promise<SettleResult>;

  /**
   * Close a reservation on failure: reserved amounts leave every ledger, nothing is charged and, unless
   * `refundRate` is false, the request's rpm/tpm consumption is refunded. Idempotent like `settle`.
   */
  release(requestId: string, options?: ReleaseOptions): Promise<SettleResult>;

  /** Release reservations created at least `olderThanMs` ago (crashed or lost requests). Rates are not refunded. */
  reap(options: ReapOptions): Promise<ReapReport>;

  /** Open reservations, oldest first. */
  listReservations(options?: { limit?: number }): Promise<ReservationInfo[]>;

  /** Budget/cost ledgers by scope (ascending), with the current budget period applied. */
  listLedgers(query?: LedgerQuery): Promise<LedgerRow[]>;

  /** Append audit records; the store assigns ids (increasing) and, when absent, `tsMs` from its clock. */
  appendAudit(records: readonly AuditInput[]): Promise<AuditRecord[]>;

  /** Audit records newest first (`tsMs` desc, then `id` desc). */
  queryAudit(query: AuditQuery): Promise<AuditRecord[]>;

  /** Delete audit records with `tsMs` older than the store clock minus `olderThanMs`; returns how many. */
  pruneAudit(options: { olderThanMs: number }): Promise<number>;

  /** Resolves when the store can serve; rejects with `StoreUnavailableError` otherwise (`/ready`). */
  ping(): Promise<void>;

  /** Schema and health checks for `--db-doctor`; `problems` empty means usable. */
  doctor(): Promise<DoctorReport>;

  close(): Promise<void>;
}

/** Persisted virtual keys and router (CONTRACT §1.4, §4.15). Tokens are stored only as `sha256:<hex>`. */
export interface ConfigStore {
  /** The persisted keys (by id) and router, or `null` if this store was never seeded. */
  loadConfig(): Promise<PersistedConfig | null>;
  /** Replace all keys and the router (seeding, rollback). */
  saveConfig(config: PersistedConfig): Promise<void>;
  /** Insert or replace one key by id. */
  upsertKey(key: VirtualKeyConfig): Promise<void>;
  /** Delete one key by id; false if it did not exist. */
  deleteKey(id: string): Promise<boolean>;
  /** Replace the router (`null` removes it). */
  saveRouter(router: RouterConfig | null): Promise<void>;
  close(): Promise<void>;
}

/** Keys and router as persisted. Loaded keys carry `sha256:` tokens. */
export interface PersistedConfig {
  virtualKeys: VirtualKeyConfig[];
  router: RouterConfig | null;
}

/** A rate-limited scope (key id, `tenant:<t>`, …). An absent limit does not apply; 0 rejects every request. */
export interface RateRule {
  scope: string;
  rpm?: number | undefined;
  tpm?: number | undefined;
}

/**
 * A budgeted scope. Only the dimensions with a total take part. `periodMs` (from `budget.duration`)
 * resets spent amounts at UTC-epoch-aligned boundaries `floor(now / periodMs) * periodMs` (§7.6).
 */
export interface BudgetRule {
  scope: string;
  totalTokens?: number | undefined;
  totalMicros?: number | undefined;
  periodMs?: number | undefined;
}

/** One admission. */
/** The synchronous request-path operations of {@link Store.sync}. */
export interface SyncGovernance {
  admit(req: AdmitRequest): AdmitResult;
  settle(requestId: string, usage: SettleUsage, options?: SettleOptions): SettleResult;
  release(requestId: string, options?: ReleaseOptions): SettleResult;
}

export interface AdmitRequest {
  /** Unique per request; settlement is keyed (and deduplicated) by it. */
  requestId: string;
  /** Who holds the reservation (e.g. `host:pid:boot`), kept for reaping and diagnosis. */
  owner: string;
  rate?: readonly RateRule[] | undefined;
  budgets?: readonly BudgetRule[] | undefined;
  /** Estimated tokens: added to every tpm window and reserved on every token budget. */
  tokens?: number | undefined;
  /** Estimated cost in USD micros: reserved on every USD budget. */
  micros?: number | undefined;
  /**
   * `false`: an allowed result may carry no window states (`rate: []`), which saves building them when
   * nobody reads them (the request path sends `x-ratelimit-*` on 429 only, §7.5). Default true.
   */
  states?: boolean | undefined;
}

export type RateDimension = 'requests' | 'tokens';

/** One rate window after an admission, for the `x-ratelimit-*` headers. */
export interface RateState {
  scope: string;
  dimension: RateDimension;
  limit: number;
  remaining: number;
  /** Time until everything now counted in the window has expired (the window is back to full). */
  resetMs: number;
}

/** Why a rate check failed. */
export interface RateDenial extends RateState {
  /** What this request asked for (1 for requests, the token estimate for tokens). */
  requested: number;
  /**
   * Time until this request would fit. If it can never fit (limit 0 or an ask above the limit) this is
   * the window length and `satisfiable` is false.
   */
  retryAfterMs: number;
  satisfiable: boolean;
}

/** Why a budget check failed. */
export interface BudgetDenial {
  scope: string;
  dimension: 'tokens' | 'micros';
  limit: number;
  spent: number;
  reserved: number;
  requested: number;
  /** End of the current budget period, or null without a period. */
  resetsAtMs: number | null;
}

export type AdmitResult =
  | { allowed: true; rate: RateState[] }
  | { allowed: false; reason: 'rate_limited'; rate: RateDenial }
  | { allowed: false; reason: 'budget_exceeded' | 'cost_budget_exceeded'; budget: BudgetDenial }
  /** A reservation under this request id is still open; nothing was consumed. */
  | { allowed: false; reason: 'duplicate_request' };

/** Actual usage of a finished request. */
export interface SettleUsage {
  /** Charged to every token budget of the reservation. */
  tokens: number;
  /** Charged to every USD budget of the reservation. */
  micros: number;
  /** If set, every tpm window's charge is corrected from the estimate to this value (if still in the window). */
  rateTokens?: number | undefined;
}

export interface SettleOptions {
  audit?: AuditInput | undefined;
}

export interface ReleaseOptions {
  /** Refund the request's rpm/tpm consumption (default true: failed requests do not count, §4.7). */
  refundRate?: boolean | undefined;
  audit?: AuditInput | undefined;
}

export interface SettleResult {
  outcome: 'committed' | 'released' | 'not_found';
  /** The appended audit record, when one was given. */
  audit?: AuditRecord;
}

export interface ReapOptions {
  /** Reap reservations at least this old (by the store clock). */
  olderThanMs: number;
  /** Most reservations to reap (default 1000). */
  limit?: number | undefined;
  /** Report without releasing. */
  dryRun?: boolean | undefined;
}

/** Per-dimension reap figures: reservations holding that dimension, how many were released, and the amount. */
export interface ReapCounts {
  scanned: number;
  reaped: number;
  released: number;
}

export interface ReapReport {
  dryRun: boolean;
  cutoffMs: number;
  /** Token reservations (amount = tokens summed over scopes). */
  budget: ReapCounts;
  /** USD reservations (amount = micros summed over scopes). */
  cost: ReapCounts;
}

/** One open reservation. A null amount means the scope has no budget in that dimension. */
export interface ReservationInfo {
  requestId: string;
  owner: string;
  createdMs: number;
  budgets: { scope: string; tokens: number | null; micros: number | null }[];
}

export interface LedgerQuery {
  /** Only scopes starting with this string. */
  prefix?: string | undefined;
  /** Exactly these scopes (missing ones are omitted). */
  scopes?: readonly string[] | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

/** A scope's ledger. Spent amounts are those of the current period. */
export interface LedgerRow {
  scope: string;
  spentTokens: number;
  reservedTokens: number;
  spentMicros: number;
  reservedMicros: number;
  updatedAtMs: number;
  periodMs: number | null;
  periodStartMs: number | null;
  resetsAtMs: number | null;
}

/** An audit record to append. `payload` must be JSON-serialisable. */
export interface AuditInput {
  kind: string;
  payload: Record<string, unknown>;
  tsMs?: number | undefined;
}

export interface AuditRecord {
  id: number;
  tsMs: number;
  kind: string;
  payload: Record<string, unknown>;
}

export interface AuditQuery {
  limit: number;
  /** `tsMs >= sinceMs`. */
  sinceMs?: number | undefined;
  /** `tsMs < beforeMs`. */
  beforeMs?: number | undefined;
}

export interface DoctorReport {
  store: 'memory' | 'sqlite' | 'redis';
  schemaVersion: number;
  problems: string[];
}

/** Suggested bound for the startup sweep: reservations this old belong to requests that cannot still be running. */
export const DEFAULT_STALE_RESERVATION_MS = 60 * 60 * 1000;
