import { requireStore, type AdminCall } from './context.js';
import { AdminError, readJsonObject, sendJson } from './http.js';

/** Largest `older_than_secs` accepted: 100 years, far beyond any reservation and safe as milliseconds. */
const MAX_OLDER_THAN_SECS = 100 * 365 * 86400;

function intField(body: Record<string, unknown>, name: string, def: number, min: number, max: number): number {
  const v = body[name];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new AdminError('invalid_request', `invalid ${name}: expected an integer between ${min} and ${max}`);
  }
  return v;
}

/**
 * `POST /admin/reservations/reap` (global write, §3.12): `{older_than_secs=86400, limit=1000 (1–100000),
 * dry_run=false}` releases reservations left by crashed or lost requests (rates are not refunded) →
 * `{store, dry_run, cutoff_ts_ms, budget:{scanned,reaped,released}, cost:{…}}`. A real reap is audited as
 * `admin.reservations.reap`; if that append fails the answer is 500 `storage_error` (the reap has happened:
 * reservations cannot be un-released, so the response says so).
 */
export async function reapReservations(c: AdminCall): Promise<void> {
  const store = requireStore(c.deps);
  const body = await readJsonObject(c.req);
  const olderThanSecs = intField(body, 'older_than_secs', 86400, 0, MAX_OLDER_THAN_SECS);
  const limit = intField(body, 'limit', 1000, 1, 100000);
  const dry = body['dry_run'] ?? false;
  if (typeof dry !== 'boolean') throw new AdminError('invalid_request', 'invalid dry_run: expected a boolean');
  const r = await store.reap({ olderThanMs: olderThanSecs * 1000, limit, dryRun: dry });
  const result = {
    store: store.kind,
    dry_run: r.dryRun,
    cutoff_ts_ms: r.cutoffMs,
    budget: { scanned: r.budget.scanned, reaped: r.budget.reaped, released: r.budget.released },
    cost: { scanned: r.cost.scanned, reaped: r.cost.reaped, released: r.cost.released },
  };
  if (!r.dryRun) {
    try {
      await store.appendAudit([{ kind: 'admin.reservations.reap', payload: { older_than_secs: olderThanSecs, limit, ...result } }]);
    } catch {
      throw new AdminError('storage_error', `reservations were reaped but the audit record could not be written (${store.kind} store)`);
    }
  }
  sendJson(c.res, 200, result, c.headers);
}
