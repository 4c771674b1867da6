/** Admin audit, export, ledger and reap endpoints against a real SQLite store (CONTRACT §3.12, §4.13, §7.6). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { verifyExport } from '../../src/admin/chain.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { endpointSuite } from '../admin/endpoints.js';
import { ACME_READ, ALL_TOKENS, call, CONFIG, READ, startAdminGateway, WRITE } from '../admin/kit.js';

describe('admin endpoints on SQLite', () => {
  endpointSuite(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'admin-sqlite-'));
    const store = await openSqliteStore(join(dir, 'gateway.db'));
    return {
      store,
      cleanup: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
});

test('a proxied request shows up in /admin/audit, its export chain and /admin/budgets', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'admin-live-'));
  const store = await openSqliteStore(join(dir, 'gateway.db'));
  const config = {
    ...CONFIG,
    virtual_keys: [{ id: 'live', token: 'sk-live-key-token', tenant_id: 'acme', budget: { total_tokens: 100_000 } }],
  };
  const gw = await startAdminGateway(store, ALL_TOKENS, config);
  try {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-live-key-token', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock-model', messages: [{ role: 'user', content: 'hello' }] }),
    });
    assert.equal(res.status, 200);
    const usage = ((await res.json()) as { usage: { total_tokens: number } }).usage;
    const audit = (await call(gw.url, '/admin/audit', { token: ACME_READ })).json as Array<{ kind: string; payload: Record<string, unknown> }>;
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.kind, 'proxy');
    assert.equal(audit[0]!.payload['virtual_key_id'], 'live');
    assert.equal(audit[0]!.payload['tenant_id'], 'acme');
    const exp = await call(gw.url, '/admin/audit/export', { token: WRITE });
    assert.deepEqual(verifyExport(exp.text), { ok: true, records: 1 });
    const budgets = (await call(gw.url, '/admin/budgets', { token: READ })).json as Array<Record<string, unknown>>;
    assert.deepEqual(budgets.map((b) => [b['key_id'], b['spent_tokens'], b['reserved_tokens']]), [['live', usage.total_tokens, 0]]);
  } finally {
    await gw.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
