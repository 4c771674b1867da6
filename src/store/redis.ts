import type { ChainableCommander } from 'ioredis';
import type { RouterConfig, VirtualKeyConfig } from '../config/schema.js';
import { checkAmount, checkId, normalizeAdmit, rateCost } from './admission.js';
import { StoreSchemaError, StoreUnavailableError } from './errors.js';
import { checkAuditInput, checkUniqueIds, parsePersistedKey, parsePersistedRouter, sortKeys, toPersistedKey } from './records.js';
import { RedisConnection, luaScript, type RedisConnectionOptions } from './redis-client.js';
import { ADMIT_LUA, AUDIT_APPEND_LUA, AUDIT_PRUNE_LUA, CLOSE_LUA, REAP_LUA } from './redis-lua.js';
import { RedisKeys, diagnose, parseAdmitReply, queryAudit, readLedgers, readReservations } from './redis-read.js';
import type {
  AdmitRequest, AdmitResult, AuditInput, AuditQuery, AuditRecord, DoctorReport, LedgerQuery, LedgerRow,
  PersistedConfig, ReapOptions, ReapReport, ReleaseOptions, ReservationInfo, SettleOptions, SettleResult, SettleUsage,
  Store,
} from './store.js';

const ADMIT = luaScript(ADMIT_LUA);
const CLOSE = luaScript(CLOSE_LUA);
const REAP = luaScript(REAP_LUA);
const AUDIT_APPEND = luaScript(AUDIT_APPEND_LUA);
const AUDIT_PRUNE = luaScript(AUDIT_PRUNE_LUA);
/** Every script, for `doctor()` to load. */
export const REDIS_SCRIPTS = [ADMIT, CLOSE, REAP, AUDIT_APPEND, AUDIT_PRUNE];

/** The layout version written under `<tag>:schema`. */
export const REDIS_SCHEMA_VERSION = 1;
const REAP_CHUNK = 500;
const MAX_PENDING = 10_000;

/** A settle/release as sent to the close script: mode tuple (c|r, tokens, micros, rateTokens|-1, refund 1|0), audit. */
interface CloseArgs {
  mode: [string, number, number, number, number];
  auditJson: string;
  auditTs: number;
}

/** Options for {@link openRedisStore}. */
export interface RedisStoreOptions extends RedisConnectionOptions {
  /** Key prefix (`--redis-prefix`, default `ditto`); every key is `{prefix}:…` (one hash tag). */
  prefix?: string;
  /** Test hook: a client clock instead of the server's `TIME`. Production leaves it unset. */
  clock?: () => number;
}

/**
 * Connect to Redis and check the key layout. Rejects with `StoreUnavailableError` if the server cannot
 * be reached within the connect timeout, `StoreSchemaError` if the prefix holds another layout version.
 */
export async function openRedisStore(url: string, options: RedisStoreOptions = {}): Promise<RedisStore> {
  const prefix = options.prefix ?? 'ditto';
  if (prefix === '' || /[{}]/.test(prefix)) throw new TypeError('redis prefix must be non-empty and without braces');
  const conn = new RedisConnection(url, options);
  await conn.connect(options.connectTimeoutMs ?? 1000);
  const keys = new RedisKeys(prefix);
  try {
    const version = await conn.call(async (c) => {
      await c.set(keys.schema, String(REDIS_SCHEMA_VERSION), 'NX');
      return c.get(keys.schema);
    });
    if (version !== String(REDIS_SCHEMA_VERSION)) {
      throw new StoreSchemaError('redis', `${keys.schema} is ${String(version)}, expected ${REDIS_SCHEMA_VERSION}`);
    }
  } catch (err) {
    await conn.close();
    throw err;
  }
  const store = new RedisStore(conn, keys, options.clock);
  await store.ready;
  return store;
}

/**
 * The Redis implementation of {@link Store}: the shared store for many replicas. Each admission and
 * each settlement is one Lua script (one round trip); clocks are the server's `TIME`, so replicas with
 * skewed clocks still share one sliding window. Reservations never expire on their own (`reap`).
 */
export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  readonly #conn: RedisConnection;
  readonly #k: RedisKeys;
  readonly #clock: (() => number) | undefined;
  /**
   * Closes to (re)apply once Redis answers: settlements and releases that failed (not sent, or sent with the
   * reply lost), and admissions whose reply was lost (released). Reservations are idempotent by request id, so
   * a retry applies at most once; its audit record is only written if the reservation was still open.
   */
  readonly #pending = new Map<string, CloseArgs>();
  /** Settles once the scripts are loaded on the server. */
  readonly ready: Promise<void>;

  constructor(conn: RedisConnection, keys: RedisKeys, clock?: () => number) {
    this.#conn = conn;
    this.#k = keys;
    this.#clock = clock;
    this.ready = this.#loadScripts();
    conn.onReady(() => {
      void this.#loadScripts().then(() => this.#retryPending());
    });
  }

  /** Load every script so EVALSHA hits from the first call (also after a server restart emptied its cache). */
  async #loadScripts(): Promise<void> {
    try {
      await this.#conn.call((c) => Promise.all(REDIS_SCRIPTS.map((s) => c.script('LOAD', s.source))));
    } catch {
      // Not fatal: `run` falls back to EVAL on NOSCRIPT.
    }
  }

  /** Key prefix in use. */
  get prefix(): string {
    return this.#k.prefix;
  }

  async admit(req: AdmitRequest): Promise<AdmitResult> {
    const a = normalizeAdmit(req);
    const k = this.#k;
    const rateKeys = a.rate.map((c) => k.rate(c.dim, c.scope));
    const ledgerKeys = a.budgets.map((b) => k.ledger(b.scope));
    const record = JSON.stringify({
      r: a.rate.map((c, i) => [rateKeys[i], rateCost(c, a.tokens), c.dim]),
      b: a.budgets.map((b, j) => [ledgerKeys[j], b.scope, b.tokenLimit === null ? -1 : a.tokens, b.microLimit === null ? -1 : a.micros]),
    });
    const args: (string | number)[] = [this.#now(), a.requestId, a.owner, a.rate.length, a.budgets.length, a.tokens, a.micros];
    for (const c of a.rate) args.push(c.limit, rateCost(c, a.tokens));
    for (const b of a.budgets) args.push(b.scope, b.tokenLimit ?? -1, b.microLimit ?? -1, b.periodMs ?? 0);
    args.push(record);
    let reply: unknown;
    try {
      reply = await this.#conn.run(ADMIT, [k.reservation(a.requestId), k.reservations, k.ledgers, ...rateKeys, ...ledgerKeys], args);
    } catch (err) {
      // The script may have run even though its reply was lost: release it once Redis answers again.
      // (A rejection with no cause came from the fail-fast gate: nothing was sent.)
      if (err instanceof StoreUnavailableError && err.cause !== undefined) {
        this.#defer(a.requestId, { mode: ['r', 0, 0, -1, 1], auditJson: '', auditTs: -1 });
      }
      throw err;
    }
    return parseAdmitReply(reply, a);
  }

  async settle(requestId: string, usage: SettleUsage, options: SettleOptions = {}): Promise<SettleResult> {
    checkAmount('tokens', usage.tokens);
    checkAmount('micros', usage.micros);
    const rateTokens = usage.rateTokens === undefined ? -1 : checkAmount('rateTokens', usage.rateTokens);
    return this.#close(requestId, ['c', usage.tokens, usage.micros, rateTokens, 0], 'committed', options.audit);
  }

  async release(requestId: string, options: ReleaseOptions = {}): Promise<SettleResult> {
    return this.#close(requestId, ['r', 0, 0, -1, options.refundRate === false ? 0 : 1], 'released', options.audit);
  }

  async reap(options: ReapOptions): Promise<ReapReport> {
    const olderThan = checkAmount('olderThanMs', options.olderThanMs);
    const limit = checkAmount('limit', options.limit ?? 1000);
    const dryRun = options.dryRun ?? false;
    const report: ReapReport = {
      dryRun, cutoffMs: -1, budget: { scanned: 0, reaped: 0, released: 0 }, cost: { scanned: 0, reaped: 0, released: 0 },
    };
    let done = 0;
    let offset = 0;
    // Chunks keep each script short; the first chunk fixes the cutoff for the rest.
    while (done < limit) {
      const chunk = Math.min(REAP_CHUNK, limit - done);
      const r = await this.#conn.run(REAP, [this.#k.reservations],
        [this.#now(), olderThan, report.cutoffMs, chunk, offset, dryRun ? 1 : 0, this.#k.reservationPrefix]) as number[];
      const [cutoff = 0, seen = 0, bs = 0, br = 0, bt = 0, cs = 0, cr = 0, ct = 0] = r;
      report.cutoffMs = cutoff;
      report.budget.scanned += bs; report.budget.reaped += br; report.budget.released += bt;
      report.cost.scanned += cs; report.cost.reaped += cr; report.cost.released += ct;
      done += seen;
      if (dryRun) offset += seen;
      if (seen < chunk) break;
    }
    if (report.cutoffMs === -1) report.cutoffMs = (await this.#storeNow()) - olderThan;
    return report;
  }

  async listReservations(options: { limit?: number } = {}): Promise<ReservationInfo[]> {
    return this.#conn.call((c) => readReservations(c, this.#k, options.limit));
  }

  async listLedgers(query: LedgerQuery = {}): Promise<LedgerRow[]> {
    const now = await this.#storeNow();
    return this.#conn.call((c) => readLedgers(c, this.#k, query, now));
  }

  async appendAudit(records: readonly AuditInput[]): Promise<AuditRecord[]> {
    records.forEach(checkAuditInput);
    if (records.length === 0) return [];
    const args: (string | number)[] = [this.#now()];
    for (const r of records) args.push(JSON.stringify({ kind: r.kind, payload: r.payload }), r.tsMs ?? -1);
    const out = await this.#conn.run(AUDIT_APPEND, [this.#k.audit, this.#k.auditSeq], args) as number[];
    return records.map((r, i) => ({
      id: out[2 * i] as number, tsMs: out[2 * i + 1] as number, kind: r.kind, payload: structuredClone(r.payload),
    }));
  }

  async queryAudit(query: AuditQuery): Promise<AuditRecord[]> {
    checkAmount('limit', query.limit);
    return this.#conn.call((c) => queryAudit(c, this.#k, query));
  }

  async pruneAudit(options: { olderThanMs: number }): Promise<number> {
    const olderThan = checkAmount('olderThanMs', options.olderThanMs);
    return await this.#conn.run(AUDIT_PRUNE, [this.#k.audit], [this.#now(), olderThan]) as number;
  }

  async loadConfig(): Promise<PersistedConfig | null> {
    return this.#conn.call(async (c) => {
      const [seeded, keys, router] = await Promise.all([
        c.get(this.#k.configSeeded), c.hvals(this.#k.configKeys), c.get(this.#k.configRouter),
      ]);
      if (seeded === null) return null;
      return {
        virtualKeys: sortKeys(keys.map((raw) => parsePersistedKey('redis', raw))),
        router: router === null ? null : parsePersistedRouter('redis', router),
      };
    });
  }

  async saveConfig(config: PersistedConfig): Promise<void> {
    checkUniqueIds(config.virtualKeys);
    const keys = config.virtualKeys.map(toPersistedKey);
    return this.#multi((m) => {
      m.del(this.#k.configKeys);
      for (const key of keys) m.hset(this.#k.configKeys, key.id, JSON.stringify(key));
      if (config.router === null) m.del(this.#k.configRouter);
      else m.set(this.#k.configRouter, JSON.stringify(config.router));
    });
  }

  async upsertKey(key: VirtualKeyConfig): Promise<void> {
    const k = toPersistedKey(key);
    return this.#multi((m) => { m.hset(this.#k.configKeys, k.id, JSON.stringify(k)); });
  }

  async deleteKey(id: string): Promise<boolean> {
    return this.#conn.call(async (c) => (await c.hdel(this.#k.configKeys, id)) > 0);
  }

  async saveRouter(router: RouterConfig | null): Promise<void> {
    return this.#multi((m) => {
      if (router === null) m.del(this.#k.configRouter);
      else m.set(this.#k.configRouter, JSON.stringify(router));
    });
  }

  async ping(): Promise<void> {
    return this.#conn.call(async (c) => { await c.ping(); });
  }

  async doctor(): Promise<DoctorReport> {
    return this.#conn.call((c) => diagnose(c, this.#k, REDIS_SCRIPTS, REDIS_SCHEMA_VERSION));
  }

  close(): Promise<void> {
    return this.#conn.close();
  }

  async #close(
    requestId: string, mode: CloseArgs['mode'], done: 'committed' | 'released', audit: AuditInput | undefined,
  ): Promise<SettleResult> {
    checkId('requestId', requestId);
    if (audit) checkAuditInput(audit);
    const args: CloseArgs = {
      mode, auditJson: audit ? JSON.stringify({ kind: audit.kind, payload: audit.payload }) : '', auditTs: audit?.tsMs ?? -1,
    };
    let reply: [number, number, number];
    try {
      reply = await this.#runClose(requestId, args, false);
    } catch (err) {
      // Applied later (at most once) when Redis answers again; the caller still learns it failed now.
      if (err instanceof StoreUnavailableError) this.#defer(requestId, args);
      throw err;
    }
    const [closed, id, ts] = reply;
    // Redis answers again without having reconnected (e.g. an OOM or READONLY spell ended): retry now.
    if (this.#pending.size > 0) void this.#retryPending();
    const outcome = closed === 1 ? done : 'not_found';
    return audit ? { outcome, audit: { id, tsMs: ts, kind: audit.kind, payload: structuredClone(audit.payload) } } : { outcome };
  }

  async #runClose(requestId: string, a: CloseArgs, retry: boolean): Promise<[number, number, number]> {
    const k = this.#k;
    const reply = await this.#conn.run(CLOSE, [k.reservation(requestId), k.reservations, k.audit, k.auditSeq],
      [this.#now(), requestId, ...a.mode, a.auditJson, a.auditTs, retry ? 1 : 0]) as [number, number, number];
    this.#pending.delete(requestId);
    return reply;
  }

  #defer(requestId: string, args: CloseArgs): void {
    if (this.#pending.size < MAX_PENDING || this.#pending.has(requestId)) this.#pending.set(requestId, args);
    void this.#retryPending();
  }

  async #retryPending(): Promise<void> {
    for (const [id, args] of [...this.#pending]) {
      try {
        await this.#runClose(id, args, true);
      } catch {
        return; // still down; the next 'ready' retries
      }
    }
  }

  async #multi(build: (m: ChainableCommander) => void): Promise<void> {
    await this.#conn.call(async (c) => {
      const m = c.multi();
      build(m);
      m.set(this.#k.configSeeded, '1');
      const results = await m.exec();
      const failed = results?.find(([err]) => err !== null);
      if (results === null || failed) throw failed?.[0] ?? new Error('transaction aborted');
    });
  }

  /** The clock argument for scripts: -1 lets the server use `TIME`. */
  #now(): number {
    return this.#clock ? this.#clock() : -1;
  }

  async #storeNow(): Promise<number> {
    if (this.#clock) return this.#clock();
    const [s, us] = await this.#conn.call((c) => c.time());
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }
}
