import type { VirtualKeyConfig } from '../config/schema.js';
import type { LedgerRow } from '../store/store.js';
import { attribution, requireStore, type AdminCall } from './context.js';
import { intParam, sendJson } from './http.js';

/** Which amounts a view reports: `/admin/budgets*` tokens, `/admin/costs*` USD micros. */
export type LedgerDimension = 'tokens' | 'usd';
/** `/admin/budgets` (per ledger) or a grouped view by the keys' tenant, project or user. */
export type LedgerView = 'keys' | 'tenants' | 'projects' | 'users';

const GROUP_FIELD = { tenants: 'tenant_id', projects: 'project_id', users: 'user_id' } as const;

/** Shared-scope ledgers (§4.7 scope strings) that are not also a key id. */
const SCOPE_PREFIX = /^(tenant|project|user):/;

function amounts(row: LedgerRow, dim: LedgerDimension): Record<string, number> {
  return dim === 'tokens'
    ? { spent_tokens: row.spentTokens, reserved_tokens: row.reservedTokens }
    : { spent_usd_micros: row.spentMicros, reserved_usd_micros: row.reservedMicros };
}

/** Current budget period (§7.6): its length, start and end; all null without a period. */
function period(row: LedgerRow): Record<string, number | null> {
  return { period_ms: row.periodMs, period_start_ms: row.periodStartMs, resets_at_ms: row.resetsAtMs };
}

/**
 * `GET /admin/budgets[/tenants|/projects|/users]` and `/admin/costs[/…]` (§3.12): `key_prefix`, `limit`
 * (≤10000, default all), `offset`. The plain view lists every ledger by scope (key ledgers under their key
 * id, shared-scope ledgers such as `tenant:acme` under theirs); grouped views sum key ledgers by the keys'
 * field (null when unset or the key is gone), excluding shared-scope ledgers. Tenant tokens see their
 * tenant's keys and `tenant:<t>[:…]` scopes only. Spent amounts are the current period's.
 */
export async function listLedgers(c: AdminCall, dim: LedgerDimension, view: LedgerView): Promise<void> {
  const store = requireStore(c.deps);
  const prefix = c.params.get('key_prefix') ?? undefined;
  const limit = intParam(c.params, 'limit', undefined, 0, 10000);
  const offset = intParam(c.params, 'offset', 0, 0, Number.MAX_SAFE_INTEGER) as number;
  const keys = new Map<string, VirtualKeyConfig>(c.deps.keys().map((k) => [k.id, k]));
  const tenant = c.principal.tenant;
  const rows = (await store.listLedgers({ prefix: prefix === '' ? undefined : prefix })).filter((row) => {
    const key = keys.get(row.scope);
    if (tenant === undefined) return true;
    if (key) return attribution(key.tenant_id) === tenant;
    return row.scope === `tenant:${tenant}` || row.scope.startsWith(`tenant:${tenant}:`);
  });
  const page = <T>(xs: T[]): T[] => xs.slice(offset, limit === undefined ? undefined : offset + limit);
  if (view === 'keys') {
    sendJson(c.res, 200, page(rows).map((r) => ({ key_id: r.scope, ...amounts(r, dim), updated_at_ms: r.updatedAtMs, ...period(r) })), c.headers);
    return;
  }
  const field = GROUP_FIELD[view];
  const groups = new Map<string | null, { rows: LedgerRow[] }>();
  for (const row of rows) {
    const key = keys.get(row.scope);
    if (!key && SCOPE_PREFIX.test(row.scope)) continue;
    const id = key ? attribution(key[field]) : null;
    const g = groups.get(id) ?? { rows: [] };
    g.rows.push(row);
    groups.set(id, g);
  }
  const out = [...groups.entries()]
    .sort(([a], [b]) => (a === null ? 1 : b === null ? -1 : a < b ? -1 : a > b ? 1 : 0))
    .map(([id, g]) => {
      const sum = (f: (r: LedgerRow) => number): number => g.rows.reduce((n, r) => n + f(r), 0);
      const total: LedgerRow = {
        scope: '', spentTokens: sum((r) => r.spentTokens), reservedTokens: sum((r) => r.reservedTokens),
        spentMicros: sum((r) => r.spentMicros), reservedMicros: sum((r) => r.reservedMicros),
        updatedAtMs: Math.max(...g.rows.map((r) => r.updatedAtMs)), periodMs: null, periodStartMs: null, resetsAtMs: null,
      };
      const resets = g.rows.map((r) => r.resetsAtMs).filter((v): v is number => v !== null);
      return {
        [field]: id, ...amounts(total, dim), key_count: g.rows.length, updated_at_ms: total.updatedAtMs,
        // Members may have different periods: the earliest reset is when some of this sum next drops.
        resets_at_ms: resets.length === 0 ? null : Math.min(...resets),
      };
    });
  sendJson(c.res, 200, page(out), c.headers);
}
