/** Tenant-filtered audit scans page through the store correctly, also when many records share one millisecond. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scanAudit } from '../../src/admin/audit.js';
import { MemoryStore } from '../../src/store/memory.js';

test('scanAudit with a tenant: newest first across pages, same-millisecond runs larger than a page, exact limit', async () => {
  const store = new MemoryStore();
  const records = [];
  // 2,500 records in one millisecond (more than two pages), then 1,500 spread over time; every third is acme's.
  for (let i = 0; i < 4000; i++) {
    const tsMs = i < 2500 ? 5_000 : 5_000 + (i - 2499) * 3;
    records.push({ kind: 'proxy', tsMs, payload: { n: i, tenant_id: i % 3 === 0 ? 'acme' : 'beta' } });
  }
  const appended = await store.appendAudit(records);
  const expected = appended
    .filter((r) => r.payload['tenant_id'] === 'acme')
    .sort((a, b) => b.tsMs - a.tsMs || b.id - a.id)
    .map((r) => r.payload['n']);
  const all = await scanAudit(store, { limit: 10_000, tenant: 'acme' });
  assert.deepEqual(all.map((r) => r.payload['n']), expected);
  const some = await scanAudit(store, { limit: 700, tenant: 'acme' });
  assert.deepEqual(some.map((r) => r.payload['n']), expected.slice(0, 700));
  const before = await scanAudit(store, { limit: 10_000, tenant: 'acme', beforeMs: 5_001, sinceMs: 5_000 });
  assert.deepEqual(before.map((r) => r.payload['n']), expected.filter((n) => (n as number) < 2500));
  assert.deepEqual(await scanAudit(store, { limit: 5, tenant: 'nobody' }), []);
  await store.close();
});
