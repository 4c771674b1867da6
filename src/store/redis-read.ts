import type { Redis } from 'ioredis';
import { z } from 'zod';
import { dimensionName, rateCost, type NormalizedAdmit } from './admission.js';
import { ledgerRow, type LedgerData } from './engine.js';
import { StoreError, StoreSchemaError } from './errors.js';
import { auditRecordOf, parseJson, parsePersistedKey, parsePersistedRouter } from './records.js';
import type { LuaScript } from './redis-client.js';
import type { AdmitResult, AuditQuery, AuditRecord, DoctorReport, LedgerQuery, LedgerRow, RateState, ReservationInfo } from './store.js';
import { WINDOW_MS } from './window.js';

/**
 * Key layout of the Redis store. Every key starts with the `{prefix}` hash tag so that all keys of one
 * gateway share a Redis Cluster slot, which lets a single Lua script touch any of them atomically.
 */
export class RedisKeys {
  readonly prefix: string;
  readonly #tag: string;

  constructor(prefix: string) {
    this.prefix = prefix;
    this.#tag = `{${prefix}}`;
  }

  get schema(): string { return `${this.#tag}:schema`; }
  /** Sliding window hash (`o`/`n`/`t` + one field per 500 ms bucket), expires 62 s after its last charge. */
  rate(dim: 'r' | 't', scope: string): string { return `${this.#tag}:rl:${dim}:${scope}`; }
  /** Ledger hash (`st rt sm rm pm ps u`). */
  ledger(scope: string): string { return `${this.#tag}:led:${scope}`; }
  /** Sorted set of ledger scopes (score 0, lexicographic listing). */
  get ledgers(): string { return `${this.#tag}:leds`; }
  /** Reservation hash (`j` record JSON, `c` created ms, `o` owner, `b<i>` buckets). */
  reservation(requestId: string): string { return `${this.reservationPrefix}${requestId}`; }
  get reservationPrefix(): string { return `${this.#tag}:res:`; }
  /** Sorted set of open reservations by created ms. */
  get reservations(): string { return `${this.#tag}:resx`; }
  /** Audit sorted set: score ts_ms, member `<20-digit id>|{"kind","payload"}`. */
  get audit(): string { return `${this.#tag}:audit`; }
  get auditSeq(): string { return `${this.#tag}:audit:seq`; }
  get configKeys(): string { return `${this.#tag}:cfg:keys`; }
  get configRouter(): string { return `${this.#tag}:cfg:router`; }
  get configSeeded(): string { return `${this.#tag}:cfg:seeded`; }
  /** Pattern matching every key of this prefix (tests clean up with it). */
  get pattern(): string { return `${this.#tag}:*`; }
}

function num(v: unknown): number {
  if (typeof v !== 'number') throw new StoreError('redis', 'STORE_ERROR', `unexpected script reply ${String(v)}`);
  return v;
}

/** Turn the admission script's reply into an {@link AdmitResult}. */
export function parseAdmitReply(reply: unknown, a: NormalizedAdmit): AdmitResult {
  if (!Array.isArray(reply)) throw new StoreError('redis', 'STORE_ERROR', 'unexpected admission reply');
  const r = reply as unknown[];
  switch (r[0]) {
    case 'dup':
      return { allowed: false, reason: 'duplicate_request' };
    case 'rate': {
      const c = a.rate[num(r[1]) - 1];
      if (!c) throw new StoreError('redis', 'STORE_ERROR', 'admission reply names an unknown rate scope');
      const used = num(r[2]);
      const retry = num(r[3]);
      return {
        allowed: false, reason: 'rate_limited',
        rate: {
          scope: c.scope, dimension: dimensionName(c.dim), limit: c.limit, remaining: Math.max(0, c.limit - used),
          resetMs: num(r[4]), requested: rateCost(c, a.tokens), retryAfterMs: retry < 0 ? WINDOW_MS : retry, satisfiable: retry >= 0,
        },
      };
    }
    case 'tok':
    case 'usd': {
      const b = a.budgets[num(r[1]) - 1];
      if (!b) throw new StoreError('redis', 'STORE_ERROR', 'admission reply names an unknown budget scope');
      const tokens = r[0] === 'tok';
      const resets = num(r[4]);
      return {
        allowed: false, reason: tokens ? 'budget_exceeded' : 'cost_budget_exceeded',
        budget: {
          scope: b.scope, dimension: tokens ? 'tokens' : 'micros', limit: (tokens ? b.tokenLimit : b.microLimit) ?? 0,
          spent: num(r[2]), reserved: num(r[3]), requested: tokens ? a.tokens : a.micros, resetsAtMs: resets < 0 ? null : resets,
        },
      };
    }
    case 'ok': {
      const rate: RateState[] = a.rate.map((c, i) => ({
        scope: c.scope, dimension: dimensionName(c.dim), limit: c.limit,
        remaining: Math.max(0, c.limit - num(r[1 + 2 * i])), resetMs: num(r[2 + 2 * i]),
      }));
      return { allowed: true, rate };
    }
    default:
      throw new StoreError('redis', 'STORE_ERROR', `unexpected admission reply ${String(r[0])}`);
  }
}

const RecordSchema = z.object({
  r: z.array(z.tuple([z.string(), z.number(), z.string()])),
  b: z.array(z.tuple([z.string(), z.string(), z.number(), z.number()])),
});

/** Open reservations, oldest first. */
export async function readReservations(c: Redis, k: RedisKeys, limit?: number): Promise<ReservationInfo[]> {
  const ids = await c.zrange(k.reservations, 0, limit === undefined ? -1 : limit - 1);
  if (ids.length === 0) return [];
  const p = c.pipeline();
  for (const id of ids) p.hmget(k.reservation(id), 'j', 'c', 'o');
  const rows = (await p.exec()) ?? [];
  const out: ReservationInfo[] = [];
  ids.forEach((requestId, i) => {
    const [err, v] = rows[i] ?? [null, null];
    if (err) throw err;
    const [j, created, owner] = v as (string | null)[];
    if (j == null) return; // closed between the two reads
    const rec = RecordSchema.safeParse(parseJson('redis', j, 'reservation'));
    if (!rec.success) throw new StoreSchemaError('redis', `reservation ${requestId} does not parse`);
    out.push({
      requestId, owner: owner ?? '', createdMs: Number(created),
      budgets: rec.data.b.map(([, scope, t, m]) => ({ scope, tokens: t < 0 ? null : t, micros: m < 0 ? null : m })),
    });
  });
  return out;
}

/** Ledgers by scope with the current period applied at `now` (store clock). */
export async function readLedgers(c: Redis, k: RedisKeys, q: LedgerQuery, now: number): Promise<LedgerRow[]> {
  const prefix = q.prefix ?? '';
  let scopes: string[];
  if (q.scopes !== undefined) {
    scopes = [...new Set(q.scopes)].filter((s) => s.startsWith(prefix)).sort();
  } else {
    const min = prefix === '' ? '-' : `[${prefix}`;
    const max = prefix === '' ? '+' : Buffer.concat([Buffer.from(`[${prefix}`), Buffer.from([0xff])]);
    scopes = await c.zrangebylex(k.ledgers, min, max, 'LIMIT', q.offset ?? 0, q.limit ?? -1);
  }
  if (scopes.length === 0) return [];
  const p = c.pipeline();
  for (const s of scopes) p.hmget(k.ledger(s), 'st', 'rt', 'sm', 'rm', 'pm', 'ps', 'u');
  const rows = (await p.exec()) ?? [];
  const out: LedgerRow[] = [];
  scopes.forEach((scope, i) => {
    const [err, v] = rows[i] ?? [null, null];
    if (err) throw err;
    const f = (v as (string | null)[]).map((x) => (x === null ? null : Number(x)));
    if (f[0] == null) return;
    const pm = f[4] ?? 0;
    const ps = f[5] ?? -1;
    const data: LedgerData = {
      spentTokens: f[0], reservedTokens: f[1] ?? 0, spentMicros: f[2] ?? 0, reservedMicros: f[3] ?? 0,
      periodMs: pm > 0 ? pm : null, periodStartMs: ps >= 0 ? ps : null, updatedAtMs: f[6] ?? 0,
    };
    out.push(ledgerRow(scope, data, now));
  });
  if (q.scopes === undefined) return out;
  const offset = q.offset ?? 0;
  return out.slice(offset, offset + (q.limit ?? Infinity));
}

const AuditMemberSchema = z.object({ kind: z.string(), payload: z.unknown() });

/** Audit records newest first: one `ZREVRANGEBYSCORE` (ties: reverse member order = id desc). */
export async function queryAudit(c: Redis, k: RedisKeys, q: AuditQuery): Promise<AuditRecord[]> {
  if (q.limit === 0) return [];
  const max = q.beforeMs === undefined ? '+inf' : `(${q.beforeMs}`;
  const min = q.sinceMs === undefined ? '-inf' : String(q.sinceMs);
  const flat = await c.zrevrangebyscore(k.audit, max, min, 'WITHSCORES', 'LIMIT', 0, q.limit);
  const out: AuditRecord[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const member = flat[i] as string;
    const id = Number(member.slice(0, 20));
    const parsed = AuditMemberSchema.safeParse(parseJson('redis', member.slice(21), 'audit record'));
    if (!Number.isSafeInteger(id) || member[20] !== '|' || !parsed.success) {
      throw new StoreSchemaError('redis', `audit member ${member.slice(0, 21)} does not parse`);
    }
    out.push(auditRecordOf('redis', id, Number(flat[i + 1]), parsed.data.kind, parsed.data.payload));
  }
  return out;
}

/** `--db-doctor` checks: layout version, key types, scripts load, persisted config parses. */
export async function diagnose(c: Redis, k: RedisKeys, scripts: readonly LuaScript[], version: number): Promise<DoctorReport> {
  const problems: string[] = [];
  const stored = await c.get(k.schema);
  if (stored !== String(version)) problems.push(`${k.schema} is ${String(stored)}, expected ${version}`);
  const expected: [string, string][] = [
    [k.reservations, 'zset'], [k.ledgers, 'zset'], [k.audit, 'zset'], [k.auditSeq, 'string'],
    [k.configKeys, 'hash'], [k.configRouter, 'string'], [k.configSeeded, 'string'],
  ];
  for (const [key, type] of expected) {
    const t = await c.type(key);
    if (t !== 'none' && t !== type) problems.push(`${key} is a ${t}, expected ${type}`);
  }
  for (const s of scripts) {
    try {
      if ((await c.script('LOAD', s.source)) !== s.sha) problems.push('a Lua script loaded under an unexpected sha');
    } catch (err) {
      problems.push(`Lua script does not load: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (problems.length === 0) {
    try {
      for (const raw of await c.hvals(k.configKeys)) parsePersistedKey('redis', raw);
      const router = await c.get(k.configRouter);
      if (router !== null) parsePersistedRouter('redis', router);
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  return { store: 'redis', schemaVersion: stored === null ? 0 : Number(stored), problems };
}
