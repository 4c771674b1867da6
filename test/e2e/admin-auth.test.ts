/**
 * Admin API mounting and auth (CONTRACT §3.12): unmounted without tokens, the 401/403/404/405 matrix for
 * global and tenant, write and read-only tokens, both token headers, and 400 not_configured without a store.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite.js';
import { ACME_READ, ACME_WRITE, ALL_TOKENS, call, READ, startAdminGateway, WRITE } from '../admin/kit.js';

const err = (code: string, message?: string) => (body: { error: { code: string; message: string } }) => {
  assert.equal(body.error.code, code);
  if (message !== undefined) assert.equal(body.error.message, message);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message']);
};

test('without any admin token /admin/* is the plain 404, whatever the token', async () => {
  const gw = await startAdminGateway(undefined, {});
  try {
    for (const [method, path] of [['GET', '/admin/audit'], ['POST', '/admin/reservations/reap'], ['GET', '/admin/budgets']] as const) {
      const r = await call(gw.url, path, { method, token: WRITE });
      assert.equal(r.status, 404, path);
      assert.equal((r.json as { error: { code: string } }).error.code, 'route_not_found');
    }
  } finally {
    await gw.close();
  }
});

describe('every kind of token, SQLite store', () => {
  let dir: string;
  let store: SqliteStore;
  let gw: Awaited<ReturnType<typeof startAdminGateway>>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'admin-auth-'));
    store = await openSqliteStore(join(dir, 'g.db'));
    gw = await startAdminGateway(store, ALL_TOKENS);
  });
  after(async () => {
    await gw?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('missing or wrong token → 401 unauthorized "invalid admin token" (Ditto error shape)', async () => {
    for (const token of [undefined, 'nope', `${WRITE}x`, WRITE.slice(0, -1)]) {
      const r = await call(gw.url, '/admin/audit', token === undefined ? {} : { token });
      assert.equal(r.status, 401, String(token));
      err('unauthorized', 'invalid admin token')(r.json);
    }
    const r = await call(gw.url, '/admin/reservations/reap', { method: 'POST', body: {} });
    assert.equal(r.status, 401);
  });

  test('read routes accept every token, by Authorization: Bearer or x-admin-token', async () => {
    for (const token of [WRITE, READ, ACME_WRITE, ACME_READ]) {
      for (const header of ['authorization', 'x-admin-token'] as const) {
        const r = await call(gw.url, '/admin/audit', { token, header });
        assert.equal(r.status, 200, `${token} via ${header}`);
        assert.ok(Array.isArray(r.json));
        assert.ok(r.headers.get('x-request-id'));
      }
    }
  });

  test('write route: global write ok; read-only tokens 401; tenant write token 403 (reap is global)', async () => {
    const ok = await call(gw.url, '/admin/reservations/reap', { method: 'POST', token: WRITE, body: { dry_run: true } });
    assert.equal(ok.status, 200);
    for (const token of [READ, ACME_READ]) {
      const r = await call(gw.url, '/admin/reservations/reap', { method: 'POST', token, body: {} });
      assert.equal(r.status, 401, token);
      err('unauthorized', 'admin token is read-only')(r.json);
    }
    const t = await call(gw.url, '/admin/reservations/reap', { method: 'POST', token: ACME_WRITE, body: {} });
    assert.equal(t.status, 403);
    err('forbidden')(t.json);
  });

  test('unknown admin path → 404 not_found; known path, wrong method → 405 with allow', async () => {
    const r = await call(gw.url, '/admin/nope', { token: WRITE });
    assert.equal(r.status, 404);
    err('not_found')(r.json);
    const m = await call(gw.url, '/admin/reservations/reap', { token: WRITE });
    assert.equal(m.status, 405);
    assert.equal(m.headers.get('allow'), 'POST');
    err('method_not_allowed')(m.json);
    const d = await call(gw.url, '/admin/audit', { method: 'DELETE', token: WRITE });
    assert.equal(d.status, 405);
    assert.equal(d.headers.get('allow'), 'GET');
  });

  test('a body the handler never reads closes the connection instead of draining it', async () => {
    const r = await call(gw.url, '/admin/reservations/reap', { method: 'POST', token: READ, body: 'x'.repeat(100_000) });
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('connection'), 'close');
  });
});

test('only read-only tokens: write routes are not mounted (404), read routes work', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'admin-ro-'));
  const store = await openSqliteStore(join(dir, 'g.db'));
  const gw = await startAdminGateway(store, { adminReadToken: READ, adminTenantReadTokens: [{ tenant: 'acme', token: ACME_READ }] });
  try {
    const r = await call(gw.url, '/admin/reservations/reap', { method: 'POST', token: READ, body: {} });
    assert.equal(r.status, 404);
    err('not_found')(r.json);
    assert.equal((await call(gw.url, '/admin/audit', { token: READ })).status, 200);
    assert.equal((await call(gw.url, '/admin/audit', { token: WRITE })).status, 401);
  } finally {
    await gw.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a tenant write token alone mounts write routes; reap still refuses it (403)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'admin-tw-'));
  const store = await openSqliteStore(join(dir, 'g.db'));
  const gw = await startAdminGateway(store, { adminTenantTokens: [{ tenant: 'acme', token: ACME_WRITE }] });
  try {
    const r = await call(gw.url, '/admin/reservations/reap', { method: 'POST', token: ACME_WRITE, body: {} });
    assert.equal(r.status, 403);
  } finally {
    await gw.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without a store: audit, export, budgets, costs and reap → 400 not_configured', async () => {
  const gw = await startAdminGateway(undefined, ALL_TOKENS);
  try {
    for (const path of ['/admin/audit', '/admin/audit/export', '/admin/budgets', '/admin/costs/tenants']) {
      const r = await call(gw.url, path, { token: READ });
      assert.equal(r.status, 400, path);
      err('not_configured')(r.json);
    }
    const r = await call(gw.url, '/admin/reservations/reap', { method: 'POST', token: WRITE, body: {} });
    assert.equal(r.status, 400);
    err('not_configured')(r.json);
  } finally {
    await gw.close();
  }
});
