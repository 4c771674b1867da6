import type { AuditRecord, Store } from '../store/store.js';
import { requireStore, type AdminCall } from './context.js';
import { intParam, sendJson } from './http.js';

/** Audit records in a time range, newest first, optionally only those of one tenant. */
export interface AuditScan {
  limit: number;
  sinceMs?: number | undefined;
  beforeMs?: number | undefined;
  /** Keep only records whose `payload.tenant_id` is this tenant (tenant admin tokens, §3.12). */
  tenant?: string | undefined;
}

const PAGE = 1000;

/**
 * Up to `limit` audit records, newest first (`ts_ms` desc, then `id` desc). Without a tenant this is one
 * store query. With one, pages are read until `limit` records of the tenant are found: each next page
 * starts at the last page's timestamp (inclusive, since several records may share a millisecond) and
 * skips the ids already seen there; a page that is all one millisecond is re-read twice as large.
 */
export async function scanAudit(store: Store, q: AuditScan): Promise<AuditRecord[]> {
  if (q.tenant === undefined) return store.queryAudit({ limit: q.limit, sinceMs: q.sinceMs, beforeMs: q.beforeMs });
  const out: AuditRecord[] = [];
  let before = q.beforeMs;
  let last: AuditRecord | undefined;
  let size = PAGE;
  for (;;) {
    const page = await store.queryAudit({ limit: size, sinceMs: q.sinceMs, beforeMs: before });
    const fresh = last === undefined ? page : page.filter((r) => r.tsMs < (last as AuditRecord).tsMs || r.id < (last as AuditRecord).id);
    for (const r of fresh) {
      if (r.payload['tenant_id'] === q.tenant) {
        out.push(r);
        if (out.length >= q.limit) return out;
      }
    }
    if (page.length < size) return out;
    if (fresh.length === 0) {
      size *= 2;
      continue;
    }
    last = page[page.length - 1] as AuditRecord;
    before = last.tsMs + 1;
  }
}

/** `GET /admin/audit`: `limit` (100, ≤1000), `since_ts_ms` (≥) → `[{id, ts_ms, kind, payload}]`, redacted. */
export async function listAudit(c: AdminCall): Promise<void> {
  const store = requireStore(c.deps);
  const limit = intParam(c.params, 'limit', 100, 1, 1000) as number;
  const sinceMs = intParam(c.params, 'since_ts_ms', undefined, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const records = await scanAudit(store, { limit, sinceMs, tenant: c.principal.tenant });
  sendJson(c.res, 200, records.map((r) => ({ id: r.id, ts_ms: r.tsMs, kind: r.kind, payload: c.deps.redact(r.payload) })), c.headers);
}
