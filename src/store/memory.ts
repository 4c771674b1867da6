import type { RouterConfig, VirtualKeyConfig } from '../config/schema.js';
import type { WindowDim } from './admission.js';
import { checkAmount, checkId } from './admission.js';
import {
  admitTx, closeTx, ledgerRow, reapTx, reservationInfo, type GovernanceTx, type LedgerData, type ReservationData,
} from './engine.js';
import { checkAuditInput, checkUniqueIds, sortKeys, toPersistedKey } from './records.js';
import type {
  AdmitRequest, AdmitResult, AuditInput, AuditQuery, AuditRecord, DoctorReport, LedgerQuery, LedgerRow,
  PersistedConfig, ReapOptions, ReapReport, ReleaseOptions, ReservationInfo, SettleOptions, SettleResult, SettleUsage,
  Store, SyncGovernance,
} from './store.js';
import { advanceWindow, bucketOf, WINDOW_MS, type WindowData } from './window.js';

/** Options for {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** Clock in epoch ms (tests inject a fake one). */
  clock?: () => number;
}

/**
 * The in-process store (no store flag). Every operation runs to completion synchronously before its
 * promise resolves, so with Node's single thread each one is a critical section: concurrent callers
 * can never interleave inside a check-and-consume. State is lost on exit.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  readonly #clock: () => number;
  /** rpm and tpm windows by scope (two maps: no key string is built per lookup). */
  readonly #windows: Record<WindowDim, Map<string, WindowData>> = { r: new Map(), t: new Map() };
  readonly #ledgers = new Map<string, LedgerData>();
  readonly #reservations = new Map<string, ReservationData>();
  #audit: AuditRecord[] = [];
  #auditSeq = 0;
  #keys: Map<string, VirtualKeyConfig> | null = null;
  #router: RouterConfig | null = null;
  #nextSweep = 0;
  #closed = false;
  readonly #tx: GovernanceTx;

  constructor(options: MemoryStoreOptions = {}) {
    this.#clock = options.clock ?? Date.now;
    const windows = this.#windows;
    const ledgers = this.#ledgers;
    const reservations = this.#reservations;
    // Objects are shared by reference, so `put*` only has to (re)insert.
    this.#tx = {
      byReference: true,
      getWindow: (scope, dim) => windows[dim].get(scope),
      putWindow: (scope, dim, w) => { windows[dim].set(scope, w); },
      getLedger: (scope) => ledgers.get(scope),
      putLedger: (scope, l) => { ledgers.set(scope, l); },
      getReservation: (id) => reservations.get(id),
      putReservation: (r) => { reservations.set(r.requestId, r); },
      deleteReservation: (id) => { reservations.delete(id); },
      oldReservations: (cutoff, limit) => {
        const out = [...reservations.values()].filter((r) => r.createdMs <= cutoff);
        return out.sort(byAge).slice(0, limit);
      },
    };
  }

  /** The request-path operations, synchronously (see {@link Store.sync}); the promise methods wrap them. */
  readonly sync: SyncGovernance = {
    admit: (req) => {
      this.#open();
      const now = this.#clock();
      this.#sweep(now);
      return admitTx(this.#tx, req, now);
    },
    settle: (requestId, usage, options = {}) => {
      this.#open();
      checkAmount('tokens', usage.tokens);
      checkAmount('micros', usage.micros);
      if (usage.rateTokens !== undefined) checkAmount('rateTokens', usage.rateTokens);
      if (options.audit) checkAuditInput(options.audit);
      const now = this.#clock();
      const done = closeTx(this.#tx, checkId('requestId', requestId), { kind: 'commit', usage }, now);
      return this.#withAudit(done ? 'committed' : 'not_found', options.audit, now);
    },
    release: (requestId, options = {}) => {
      this.#open();
      if (options.audit) checkAuditInput(options.audit);
      const now = this.#clock();
      const mode = { kind: 'release', refundRate: options.refundRate ?? true } as const;
      const done = closeTx(this.#tx, checkId('requestId', requestId), mode, now);
      return this.#withAudit(done ? 'released' : 'not_found', options.audit, now);
    },
  };

  admit(req: AdmitRequest): Promise<AdmitResult> {
    return this.#run(() => this.sync.admit(req));
  }

  settle(requestId: string, usage: SettleUsage, options: SettleOptions = {}): Promise<SettleResult> {
    return this.#run(() => this.sync.settle(requestId, usage, options));
  }

  release(requestId: string, options: ReleaseOptions = {}): Promise<SettleResult> {
    return this.#run(() => this.sync.release(requestId, options));
  }

  reap(options: ReapOptions): Promise<ReapReport> {
    return this.#run(() => reapTx(
      this.#tx, checkAmount('olderThanMs', options.olderThanMs), checkAmount('limit', options.limit ?? 1000),
      options.dryRun ?? false, this.#clock(),
    ));
  }

  listReservations(options: { limit?: number } = {}): Promise<ReservationInfo[]> {
    return this.#run(() => [...this.#reservations.values()]
      .sort(byAge)
      .slice(0, options.limit ?? Infinity)
      .map(reservationInfo));
  }

  listLedgers(query: LedgerQuery = {}): Promise<LedgerRow[]> {
    return this.#run(() => {
      const now = this.#clock();
      const wanted = query.scopes ? new Set(query.scopes) : null;
      const prefix = query.prefix ?? '';
      const scopes = [...this.#ledgers.keys()]
        .filter((s) => s.startsWith(prefix) && (wanted === null || wanted.has(s)))
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const offset = query.offset ?? 0;
      return scopes.slice(offset, offset + (query.limit ?? Infinity))
        .map((s) => ledgerRow(s, this.#ledgers.get(s) as LedgerData, now));
    });
  }

  appendAudit(records: readonly AuditInput[]): Promise<AuditRecord[]> {
    return this.#run(() => {
      records.forEach(checkAuditInput);
      const now = this.#clock();
      return records.map((r) => this.#append(r, now));
    });
  }

  queryAudit(query: AuditQuery): Promise<AuditRecord[]> {
    return this.#run(() => {
      const out: AuditRecord[] = [];
      for (let i = this.#audit.length - 1; i >= 0 && out.length < query.limit; i--) {
        const r = this.#audit[i] as AuditRecord;
        if (query.beforeMs !== undefined && r.tsMs >= query.beforeMs) continue;
        if (query.sinceMs !== undefined && r.tsMs < query.sinceMs) break;
        out.push(structuredClone(r));
      }
      return out;
    });
  }

  pruneAudit(options: { olderThanMs: number }): Promise<number> {
    return this.#run(() => {
      const cutoff = this.#clock() - checkAmount('olderThanMs', options.olderThanMs);
      const before = this.#audit.length;
      this.#audit = this.#audit.filter((r) => r.tsMs >= cutoff);
      return before - this.#audit.length;
    });
  }

  loadConfig(): Promise<PersistedConfig | null> {
    return this.#run(() => this.#keys === null ? null : {
      virtualKeys: sortKeys([...this.#keys.values()].map((k) => structuredClone(k))),
      router: structuredClone(this.#router),
    });
  }

  saveConfig(config: PersistedConfig): Promise<void> {
    return this.#run(() => {
      checkUniqueIds(config.virtualKeys);
      this.#keys = new Map(config.virtualKeys.map((k) => [k.id, structuredClone(toPersistedKey(k))]));
      this.#router = structuredClone(config.router);
    });
  }

  upsertKey(key: VirtualKeyConfig): Promise<void> {
    return this.#run(() => {
      this.#keys ??= new Map();
      this.#keys.set(key.id, structuredClone(toPersistedKey(key)));
    });
  }

  deleteKey(id: string): Promise<boolean> {
    return this.#run(() => this.#keys?.delete(id) ?? false);
  }

  saveRouter(router: RouterConfig | null): Promise<void> {
    return this.#run(() => {
      this.#keys ??= new Map();
      this.#router = structuredClone(router);
    });
  }

  ping(): Promise<void> {
    return this.#run(() => undefined);
  }

  doctor(): Promise<DoctorReport> {
    return Promise.resolve({ store: 'memory', schemaVersion: 1, problems: [] });
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  /** Run `fn` synchronously; errors become rejections, never synchronous throws. */
  #run<T>(fn: () => T): Promise<T> {
    try {
      this.#open();
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  #open(): void {
    if (this.#closed) throw new Error('memory store is closed');
  }

  #withAudit(outcome: SettleResult['outcome'], audit: AuditInput | undefined, now: number): SettleResult {
    return audit ? { outcome, audit: this.#append(audit, now) } : { outcome };
  }

  /** Append keeping `#audit` ordered by (tsMs, id); appends are almost always at the end. */
  #append(input: AuditInput, now: number): AuditRecord {
    const rec: AuditRecord = { id: ++this.#auditSeq, tsMs: input.tsMs ?? now, kind: input.kind, payload: structuredClone(input.payload) };
    let i = this.#audit.length;
    while (i > 0 && (this.#audit[i - 1] as AuditRecord).tsMs > rec.tsMs) i--;
    this.#audit.splice(i, 0, rec);
    return structuredClone(rec);
  }

  /** Drop windows that hold nothing any more, at most once per window length. */
  #sweep(now: number): void {
    if (now < this.#nextSweep) return;
    this.#nextSweep = now + WINDOW_MS;
    const cur = bucketOf(now);
    for (const windows of [this.#windows.r, this.#windows.t]) {
      for (const [k, w] of windows) {
        advanceWindow(w, cur);
        if (w.total === 0) windows.delete(k);
      }
    }
  }
}

/** Oldest first; ties by request id (the order SQLite and Redis use). */
function byAge(a: ReservationData, b: ReservationData): number {
  return a.createdMs - b.createdMs || (a.requestId < b.requestId ? -1 : a.requestId > b.requestId ? 1 : 0);
}
