import { chainRecords, CSV_HEADER, csvRow, jsonlLine } from './chain.js';
import { scanAudit } from './audit.js';
import { requireStore, type AdminCall } from './context.js';
import { AdminError, intParam, sendText } from './http.js';

/**
 * `GET /admin/audit/export` (§4.13): `format=jsonl|ndjson|csv` (jsonl), `limit` (1000, 1–10000),
 * `since_ts_ms` (≥), `before_ts_ms` (<). Records newest first, payloads redacted, hash-chained in the
 * emitted order; `ditto-gateway audit-verify FILE` checks the result.
 */
export async function exportAudit(c: AdminCall): Promise<void> {
  const store = requireStore(c.deps);
  const format = (c.params.get('format') ?? 'jsonl').trim().toLowerCase() || 'jsonl';
  if (format !== 'jsonl' && format !== 'ndjson' && format !== 'csv') {
    throw new AdminError('invalid_request', 'invalid format: expected jsonl, ndjson or csv');
  }
  const limit = intParam(c.params, 'limit', 1000, 1, 10000) as number;
  const sinceMs = intParam(c.params, 'since_ts_ms', undefined, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const beforeMs = intParam(c.params, 'before_ts_ms', undefined, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const records = await scanAudit(store, { limit, sinceMs, beforeMs, tenant: c.principal.tenant });
  const chained = chainRecords(records.map((r) => ({ id: r.id, ts_ms: r.tsMs, kind: r.kind, payload: c.deps.redact(r.payload) })));
  const csv = format === 'csv';
  const lines = csv ? [CSV_HEADER, ...chained.map(csvRow)] : chained.map(jsonlLine);
  const body = lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  sendText(c.res, 200, body, {
    ...c.headers,
    'content-type': csv ? 'text/csv' : 'application/x-ndjson',
    'content-disposition': `attachment; filename="ditto-audit.${csv ? 'csv' : 'jsonl'}"`,
  });
}
