import type BetterSqlite3 from 'better-sqlite3';
import { z } from 'zod';
import type { LedgerData, ReservationData } from './engine.js';
import { StoreSchemaError } from './errors.js';
import { parseJson } from './records.js';

/** Prepared statements of the SQLite store, compiled once per connection. */
export function prepareStatements(db: BetterSqlite3.Database) {
  return {
    ping: db.prepare('SELECT 1'),
    begin: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
    dataVersion: db.prepare('PRAGMA data_version').pluck(),
    getWindow: db.prepare('SELECT state FROM rate_window WHERE dim = ? AND scope = ?'),
    putWindow: db.prepare('INSERT OR REPLACE INTO rate_window (dim, scope, state) VALUES (?, ?, ?)'),
    getLedger: db.prepare('SELECT * FROM ledger WHERE scope = ?'),
    putLedger: db.prepare(`INSERT OR REPLACE INTO ledger (scope, spent_tokens, reserved_tokens, spent_micros,
      reserved_micros, period_ms, period_start_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
    listLedgers: db.prepare(`SELECT * FROM ledger WHERE scope >= @prefix AND substr(scope, 1, length(@prefix)) = @prefix
      ORDER BY scope LIMIT @limit OFFSET @offset`),
    getReservation: db.prepare('SELECT * FROM reservation WHERE request_id = ?'),
    putReservation: db.prepare('INSERT INTO reservation (request_id, owner, created_at_ms, body) VALUES (?, ?, ?, ?)'),
    deleteReservation: db.prepare('DELETE FROM reservation WHERE request_id = ?'),
    oldReservations: db.prepare(`SELECT * FROM reservation WHERE created_at_ms <= ?
      ORDER BY created_at_ms, request_id LIMIT ?`),
    listReservations: db.prepare('SELECT * FROM reservation ORDER BY created_at_ms, request_id LIMIT ?'),
    appendAudit: db.prepare('INSERT INTO audit (ts_ms, kind, payload) VALUES (?, ?, ?)'),
    queryAudit: db.prepare(`SELECT id, ts_ms, kind, payload FROM audit WHERE ts_ms >= ? AND ts_ms < ?
      ORDER BY ts_ms DESC, id DESC LIMIT ?`),
    pruneAudit: db.prepare('DELETE FROM audit WHERE ts_ms < ?'),
    getMeta: db.prepare('SELECT v FROM meta WHERE k = ?'),
    putMeta: db.prepare('INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)'),
    listKeys: db.prepare('SELECT body FROM virtual_key ORDER BY id'),
    putKey: db.prepare('INSERT OR REPLACE INTO virtual_key (id, body) VALUES (?, ?)'),
    deleteKey: db.prepare('DELETE FROM virtual_key WHERE id = ?'),
    deleteAllKeys: db.prepare('DELETE FROM virtual_key'),
    getRouter: db.prepare('SELECT body FROM router WHERE id = 1'),
    putRouter: db.prepare('INSERT OR REPLACE INTO router (id, body) VALUES (1, ?)'),
    deleteRouter: db.prepare('DELETE FROM router WHERE id = 1'),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;

const int = z.number().int().nonnegative();
const intOrNull = int.nullable();

const LedgerRowSchema = z.object({
  spent_tokens: int, reserved_tokens: int, spent_micros: int, reserved_micros: int,
  period_ms: intOrNull, period_start_ms: intOrNull, updated_at_ms: z.number().int(),
});

/** A `ledger` row as engine data. */
export function toLedger(row: Record<string, unknown>): LedgerData {
  const r = LedgerRowSchema.safeParse(row);
  if (!r.success) throw new StoreSchemaError('sqlite', `ledger row ${String(row.scope)} does not parse`);
  return {
    spentTokens: r.data.spent_tokens, reservedTokens: r.data.reserved_tokens,
    spentMicros: r.data.spent_micros, reservedMicros: r.data.reserved_micros,
    periodMs: r.data.period_ms, periodStartMs: r.data.period_start_ms, updatedAtMs: r.data.updated_at_ms,
  };
}

const ReservationBodySchema = z.object({
  budgets: z.array(z.object({ scope: z.string(), tokens: intOrNull, micros: intOrNull })),
  rate: z.array(z.object({ scope: z.string(), dim: z.enum(['r', 't']), bucket: z.number().int(), amount: int })),
});

const ReservationRowSchema = z.object({
  request_id: z.string(), owner: z.string(), created_at_ms: z.number().int(), body: z.string(),
});

/** A `reservation` row as engine data. */
export function parseReservationRow(row: Record<string, unknown>): ReservationData {
  const r = ReservationRowSchema.safeParse(row);
  if (!r.success) throw new StoreSchemaError('sqlite', 'reservation row does not parse');
  const body = ReservationBodySchema.safeParse(parseJson('sqlite', r.data.body, 'reservation'));
  if (!body.success) throw new StoreSchemaError('sqlite', `reservation ${r.data.request_id} does not parse`);
  return { requestId: r.data.request_id, owner: r.data.owner, createdMs: r.data.created_at_ms, ...body.data };
}
