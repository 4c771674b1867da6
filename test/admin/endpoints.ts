import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { parseCsv } from '../../src/admin/chain.js';
import type { Store } from '../../src/store/store.js';
import { ACME_READ, ALL_TOKENS, call, READ, startAdminGateway, WRITE } from './kit.js';

const BIN = fileURLToPath(new URL('../../../bin/ditto-gateway.js', import.meta.url));
const DAY = 86_400_000;

interface AuditRow { id: number; ts_ms: number; kind: string; payload: Record<string, unknown> }

/** Run `ditto-gateway audit-verify FILE` as a real process. */
function auditVerify(file: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'audit-verify', file], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The audit, export, budgets/costs and reap endpoints against one real store (SQLite or Redis). The store
 * is seeded directly: audit records with fixed timestamps, and admissions/settlements on the ledgers.
 */
export function endpointSuite(open: () => Promise<{ store: Store; cleanup(): Promise<void> }>): void {
  let store: Store;
  let cleanup: () => Promise<void>;
  let gw: Awaited<ReturnType<typeof startAdminGateway>>;
  let dir: string;
  const base = Date.now() - 60_000;
  let admittedAt = 0;

  before(async () => {
    ({ store, cleanup } = await open());
    dir = mkdtempSync(join(tmpdir(), 'admin-endpoints-'));
    await store.appendAudit([
      { kind: 'proxy', tsMs: base + 1, payload: { request_id: 'r1', virtual_key_id: 'k1', tenant_id: 'acme', status: 200, api_key: 'sk-live-secret-000000' } },
      { kind: 'proxy', tsMs: base + 2, payload: { request_id: 'r2', virtual_key_id: 'k3', tenant_id: 'beta', status: 200 } },
      { kind: 'proxy.error', tsMs: base + 3, payload: { request_id: 'r3', virtual_key_id: 'k2', tenant_id: 'acme', status: 502, note: 'upstream said: "no", then, line\nbreak', headers: { Authorization: 'Bearer abcdef' } } },
      { kind: 'proxy', tsMs: base + 3, payload: { request_id: 'r4', virtual_key_id: 'k2', tenant_id: 'acme', status: 200, nested: { z: 1, a: [2, 1] } } },
      { kind: 'proxy.blocked', tsMs: base + 4, payload: { request_id: 'r5', virtual_key_id: 'k3', tenant_id: 'beta', status: 403, message: 'contains sk-abcdefghijklmnop' } },
    ]);
    // Ledgers: k1 (acme, 1-day period), k2 (acme), k3 (beta), plus shared scopes; one reservation left open.
    const owner = 'test-owner';
    const k1 = [{ scope: 'k1', totalTokens: 10_000, totalMicros: 5_000_000, periodMs: DAY }, { scope: 'tenant:acme', totalTokens: 100_000 }];
    const k2 = [{ scope: 'k2', totalTokens: 10_000, totalMicros: 5_000_000 }, { scope: 'tenant:acme', totalTokens: 100_000 }];
    const k3 = [{ scope: 'k3', totalTokens: 10_000, totalMicros: 5_000_000 }, { scope: 'tenant:beta:project:web', totalTokens: 100_000 }];
    for (const [id, budgets, used] of [['a1', k1, 40], ['a2', k2, 60], ['a3', k3, 7]] as const) {
      const r = await store.admit({ requestId: id, owner, budgets, tokens: 100, micros: 1000 });
      assert.ok(r.allowed);
      await store.settle(id, { tokens: used, micros: used * 10 });
    }
    admittedAt = Date.now();
    assert.ok((await store.admit({ requestId: 'stale', owner, budgets: k1, tokens: 500, micros: 2000 })).allowed);
    gw = await startAdminGateway(store, ALL_TOKENS);
  });

  after(async () => {
    await gw?.close();
    await cleanup?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('GET /admin/audit: newest first (ts then id), limit, since_ts_ms, redacted on read', async () => {
    const all = (await call(gw.url, `/admin/audit?since_ts_ms=${base}`, { token: READ })).json as AuditRow[];
    assert.deepEqual(all.map((r) => r.payload['request_id']), ['r5', 'r4', 'r3', 'r2', 'r1']);
    assert.deepEqual(Object.keys(all[0]!), ['id', 'ts_ms', 'kind', 'payload']);
    assert.equal(all[0]!.ts_ms, base + 4);
    assert.equal(all[0]!.payload['message'], 'contains <redacted>');
    assert.equal(all[4]!.payload['api_key'], '<redacted>');
    assert.deepEqual(all[2]!.payload['headers'], { Authorization: '<redacted>' });
    const two = (await call(gw.url, `/admin/audit?limit=2&since_ts_ms=${base}`, { token: READ })).json as AuditRow[];
    assert.deepEqual(two.map((r) => r.payload['request_id']), ['r5', 'r4']);
    const since = (await call(gw.url, `/admin/audit?since_ts_ms=${base + 3}`, { token: READ })).json as AuditRow[];
    assert.deepEqual(since.map((r) => r.payload['request_id']), ['r5', 'r4', 'r3']);
    for (const q of ['limit=0', 'limit=1001', 'limit=abc', 'since_ts_ms=1.5']) {
      const r = await call(gw.url, `/admin/audit?${q}`, { token: READ });
      assert.equal(r.status, 400, q);
      assert.equal((r.json as { error: { code: string } }).error.code, 'invalid_request');
    }
  });

  test('a tenant token sees only its tenant\'s audit records', async () => {
    const rows = (await call(gw.url, `/admin/audit?since_ts_ms=${base}`, { token: ACME_READ })).json as AuditRow[];
    assert.deepEqual(rows.map((r) => r.payload['request_id']), ['r4', 'r3', 'r1']);
    const one = (await call(gw.url, `/admin/audit?since_ts_ms=${base}&limit=1`, { token: ACME_READ })).json as AuditRow[];
    assert.deepEqual(one.map((r) => r.payload['request_id']), ['r4']);
  });

  test('JSONL export → audit-verify ok; a tampered payload, a removed line and a reordered line → exit 1 naming the record', async () => {
    const r = await call(gw.url, `/admin/audit/export?since_ts_ms=${base}&before_ts_ms=${base + 4}`, { token: READ });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/x-ndjson');
    const lines = r.text.trimEnd().split('\n');
    assert.equal(lines.length, 4, 'before_ts_ms is exclusive: r5 left out');
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(parsed.map((p) => (p['payload'] as Record<string, unknown>)['request_id']), ['r4', 'r3', 'r2', 'r1']);
    assert.equal('prev_hash' in parsed[0]!, false);
    assert.equal(parsed[1]!['prev_hash'], parsed[0]!['hash']);
    assert.equal((parsed[3]!['payload'] as Record<string, unknown>)['api_key'], '<redacted>');

    const file = join(dir, 'audit.jsonl');
    writeFileSync(file, r.text);
    const ok = auditVerify(file);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout, 'audit chain ok: 4 records\n');

    const tampered = lines.map((l, i) => (i === 2 ? l.replace('"status":200', '"status":500') : l));
    assert.notEqual(tampered[2], lines[2]);
    writeFileSync(file, `${tampered.join('\n')}\n`);
    const bad = auditVerify(file);
    assert.equal(bad.status, 1);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, new RegExp(`^audit chain broken at line 3 \\(record id ${String(parsed[2]!['id'])}\\): hash mismatch`));

    writeFileSync(file, `${[lines[0], lines[1], lines[3]].join('\n')}\n`);
    const removed = auditVerify(file);
    assert.equal(removed.status, 1);
    assert.match(removed.stderr, new RegExp(`line 3 \\(record id ${String(parsed[3]!['id'])}\\): prev_hash does not match`));

    writeFileSync(file, `${[lines[0], lines[2], lines[1], lines[3]].join('\n')}\n`);
    const reordered = auditVerify(file);
    assert.equal(reordered.status, 1);
    assert.match(reordered.stderr, new RegExp(`line 2 \\(record id ${String(parsed[2]!['id'])}\\)`));

    const ndjson = await call(gw.url, `/admin/audit/export?format=ndjson&since_ts_ms=${base}&before_ts_ms=${base + 4}`, { token: READ });
    assert.equal(ndjson.text, r.text);
  });

  test('CSV export: header, RFC 4180 quoting of payloads with commas, quotes and newlines, chain verifies', async () => {
    const r = await call(gw.url, `/admin/audit/export?format=csv&since_ts_ms=${base}`, { token: READ });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/csv');
    const rows = parseCsv(r.text);
    assert.deepEqual(rows[0], ['id', 'ts_ms', 'kind', 'payload_json', 'prev_hash', 'hash']);
    assert.equal(rows.length, 6);
    const r3 = rows.find((row) => row[3]?.includes('"r3"'))!;
    assert.equal((JSON.parse(r3[3]!) as Record<string, unknown>)['note'], 'upstream said: "no", then, line\nbreak');
    assert.ok(r.text.includes('\\""no\\""'), 'quotes (here JSON-escaped ones) are doubled inside a quoted field');
    assert.equal(rows[1]![4], '');
    assert.equal(rows[2]![4], rows[1]![5]);
    const file = join(dir, 'audit.csv');
    writeFileSync(file, r.text);
    const ok = auditVerify(file);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout, 'audit chain ok: 5 records\n');
    writeFileSync(file, readFileSync(file, 'utf8').replace('then, line', 'then; line'));
    const bad = auditVerify(file);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^audit chain broken at row \d+ \(record id \d+\): hash mismatch/);
  });

  test('export: tenant tokens export only their tenant (and it verifies); bad format and limits → 400', async () => {
    const r = await call(gw.url, `/admin/audit/export?since_ts_ms=${base}`, { token: ACME_READ });
    const ids = r.text.trimEnd().split('\n').map((l) => ((JSON.parse(l) as { payload: { request_id: string } }).payload.request_id));
    assert.deepEqual(ids, ['r4', 'r3', 'r1']);
    const file = join(dir, 'tenant.jsonl');
    writeFileSync(file, r.text);
    assert.equal(auditVerify(file).status, 0);
    const lim = await call(gw.url, `/admin/audit/export?since_ts_ms=${base}&limit=2`, { token: READ });
    assert.equal(lim.text.trimEnd().split('\n').length, 2);
    for (const q of ['format=xml', 'limit=0', 'limit=10001', 'before_ts_ms=x']) {
      const bad = await call(gw.url, `/admin/audit/export?${q}`, { token: READ });
      assert.equal(bad.status, 400, q);
      assert.equal((bad.json as { error: { code: string } }).error.code, 'invalid_request');
    }
  });

  test('GET /admin/budgets: every ledger by scope with the current period; key_prefix, limit, offset', async () => {
    const rows = (await call(gw.url, '/admin/budgets', { token: READ })).json as Array<Record<string, unknown>>;
    const by = new Map(rows.map((r) => [r['key_id'], r]));
    assert.deepEqual([...by.keys()], ['k1', 'k2', 'k3', 'tenant:acme', 'tenant:beta:project:web']);
    assert.deepEqual(Object.keys(rows[0]!), ['key_id', 'spent_tokens', 'reserved_tokens', 'updated_at_ms', 'period_ms', 'period_start_ms', 'resets_at_ms']);
    const k1 = by.get('k1')!;
    assert.equal(k1['spent_tokens'], 40);
    assert.equal(k1['reserved_tokens'], 500, 'the open reservation');
    assert.equal(k1['period_ms'], DAY);
    const start = Math.floor(admittedAt / DAY) * DAY;
    assert.ok(k1['period_start_ms'] === start || k1['period_start_ms'] === start + DAY);
    assert.equal(k1['resets_at_ms'], (k1['period_start_ms'] as number) + DAY, 'resets at the next UTC midnight');
    assert.equal(by.get('k2')!['resets_at_ms'], null);
    assert.equal(by.get('tenant:acme')!['spent_tokens'], 100);
    assert.equal(by.get('tenant:acme')!['reserved_tokens'], 500);
    const prefixed = (await call(gw.url, '/admin/budgets?key_prefix=tenant:', { token: READ })).json as Array<Record<string, unknown>>;
    assert.deepEqual(prefixed.map((r) => r['key_id']), ['tenant:acme', 'tenant:beta:project:web']);
    const paged = (await call(gw.url, '/admin/budgets?limit=2&offset=1', { token: READ })).json as Array<Record<string, unknown>>;
    assert.deepEqual(paged.map((r) => r['key_id']), ['k2', 'k3']);
    assert.equal((await call(gw.url, '/admin/budgets?limit=10001', { token: READ })).status, 400);
  });

  test('GET /admin/costs and grouped views sum key ledgers by tenant, project and user (shared scopes excluded)', async () => {
    const costs = (await call(gw.url, '/admin/costs', { token: READ })).json as Array<Record<string, unknown>>;
    const k2 = costs.find((r) => r['key_id'] === 'k2')!;
    assert.deepEqual({ ...k2, updated_at_ms: 0 }, {
      key_id: 'k2', spent_usd_micros: 600, reserved_usd_micros: 0, updated_at_ms: 0, period_ms: null, period_start_ms: null, resets_at_ms: null,
    });
    assert.equal(costs.find((r) => r['key_id'] === 'k1')!['reserved_usd_micros'], 2000);

    const tenants = (await call(gw.url, '/admin/budgets/tenants', { token: READ })).json as Array<Record<string, unknown>>;
    assert.deepEqual(tenants.map((t) => [t['tenant_id'], t['spent_tokens'], t['reserved_tokens'], t['key_count']]), [['acme', 100, 500, 2], ['beta', 7, 0, 1]]);
    assert.equal(typeof tenants[0]!['resets_at_ms'], 'number', 'k1 has a period');
    assert.equal(tenants[1]!['resets_at_ms'], null);
    const projects = (await call(gw.url, '/admin/costs/projects', { token: READ })).json as Array<Record<string, unknown>>;
    assert.deepEqual(projects.map((t) => [t['project_id'], t['spent_usd_micros'], t['key_count']]), [['api', 600, 1], ['web', 470, 2]]);
    const users = (await call(gw.url, '/admin/budgets/users', { token: READ })).json as Array<Record<string, unknown>>;
    assert.deepEqual(users.map((t) => [t['user_id'], t['spent_tokens'], t['key_count']]), [['u1', 100, 2], [null, 7, 1]]);
  });

  test('tenant tokens see their keys\' ledgers and their tenant:<t> scopes only', async () => {
    const rows = (await call(gw.url, '/admin/budgets', { token: ACME_READ })).json as Array<Record<string, unknown>>;
    assert.deepEqual(rows.map((r) => r['key_id']), ['k1', 'k2', 'tenant:acme']);
    const tenants = (await call(gw.url, '/admin/costs/tenants', { token: ACME_READ })).json as Array<Record<string, unknown>>;
    assert.deepEqual(tenants.map((t) => t['tenant_id']), ['acme']);
  });

  test('POST /admin/reservations/reap: dry run reports, a real run releases and is audited; bad bodies → 400', async () => {
    for (const body of ['{', '[]', { limit: 0 }, { limit: 100001 }, { older_than_secs: -1 }, { older_than_secs: 1.5 }, { dry_run: 'yes' }]) {
      const r = await call(gw.url, '/admin/reservations/reap', { method: 'POST', token: WRITE, body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal((r.json as { error: { code: string } }).error.code, 'invalid_request');
    }
    const young = await call(gw.url, '/admin/reservations/reap', { method: 'POST', token: WRITE, body: {} });
    assert.equal(young.status, 200);
    const y = young.json as Record<string, unknown>;
    assert.equal(y['store'], store.kind);
    assert.equal(y['dry_run'], false);
    assert.deepEqual(y['budget'], { scanned: 0, reaped: 0, released: 0 }, 'the open reservation is younger than 86400 s');

    const dry = (await call(gw.url, '/admin/reservations/reap', { method: 'POST', token: WRITE, body: { older_than_secs: 0, dry_run: true } })).json as Record<string, unknown>;
    assert.equal(dry['dry_run'], true);
    assert.deepEqual(dry['budget'], { scanned: 1, reaped: 0, released: 0 }, 'a dry run counts candidates only');
    assert.deepEqual(dry['cost'], { scanned: 1, reaped: 0, released: 0 });
    assert.equal((await store.listReservations()).length, 1, 'a dry run releases nothing');

    const real = await call(gw.url, '/admin/reservations/reap', { method: 'POST', token: WRITE, body: { older_than_secs: 0, limit: 10 } });
    assert.equal(real.status, 200);
    const body = real.json as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), ['store', 'dry_run', 'cutoff_ts_ms', 'budget', 'cost']);
    assert.deepEqual(body['budget'], { scanned: 1, reaped: 1, released: 1000 }, '500 tokens on k1 and on tenant:acme');
    assert.deepEqual(body['cost'], { scanned: 1, reaped: 1, released: 2000 });
    assert.ok(typeof body['cutoff_ts_ms'] === 'number' && body['cutoff_ts_ms'] >= admittedAt);
    assert.equal((await store.listReservations()).length, 0);
    const k1 = ((await call(gw.url, '/admin/budgets?key_prefix=k1', { token: READ })).json as Array<Record<string, unknown>>)[0]!;
    assert.equal(k1['reserved_tokens'], 0);

    const audit = (await call(gw.url, '/admin/audit?limit=5', { token: READ })).json as AuditRow[];
    const reaps = audit.filter((r) => r.kind === 'admin.reservations.reap');
    assert.equal(reaps.length, 2, 'both real runs are audited, the dry run is not');
    assert.deepEqual(reaps[0]!.payload['budget'], { scanned: 1, reaped: 1, released: 1000 });
    assert.equal(reaps[0]!.payload['older_than_secs'], 0);
  });
}
