import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../../src/store/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { deletePrefix, describeUnlessSkipped, redisSkipReason, REDIS_URL, testPrefix } from '../store/services.js';
import { chatBody, govConfig, post, usageUpstream } from './governance-kit.js';

/**
 * 200 concurrent requests against a token budget that fits exactly 50 (CONTRACT §4.8): exactly 50 are
 * admitted, the ledger equals the sum of settled usage, and no reservation is left — on every store.
 * The upstream reports usage equal to the estimate, so the count does not depend on settlement timing.
 */
async function exactFill(store: Store | undefined): Promise<void> {
  const { body, charge } = chatBody(10);
  const up = await usageUpstream(() => ({ prompt_tokens: charge - 3, completion_tokens: 3, total_tokens: charge }));
  let gw: TestGateway | undefined;
  try {
    gw = await startTestGateway(govConfig(up.baseUrl, { budget: { total_tokens: 50 * charge } }), {}, process.env, { store });
    const url = gw.url;
    const results = await Promise.all(Array.from({ length: 200 }, async () => {
      const r = await post(url, body);
      return { status: r.status, text: await r.text() };
    }));
    const ok = results.filter((r) => r.status === 200).length;
    const denied = results.filter((r) => r.status === 402);
    assert.equal(ok, 50);
    assert.equal(denied.length, 150);
    for (const d of denied) {
      const e = (JSON.parse(d.text) as { error: { message: string; type: string; code: string } }).error;
      assert.equal(e.type, 'insufficient_quota');
      assert.equal(e.code, 'budget_exceeded');
      assert.match(e.message, new RegExp(`^budget exceeded: limit=${50 * charge} attempted=\\d+$`));
    }
    assert.equal(up.requests.length, 50, 'denied requests never reach the upstream');
    const s = gw.gw.governance.store;
    await gw.gw.governance.drain();
    const [led] = await s.listLedgers({ scopes: ['k1'] });
    assert.ok(led);
    assert.equal(led.spentTokens, 50 * charge);
    assert.equal(led.reservedTokens, 0);
    assert.deepEqual(await s.listReservations(), []);
  } finally {
    await gw?.close();
    await up.close();
  }
}

describe('governance: exact budget fill under concurrency', { timeout: 120_000 }, () => {
  test('memory store', async () => { await exactFill(undefined); });

  test('sqlite store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ditto-gov-'));
    const store = await openStore({ kind: 'sqlite', path: join(dir, 'gov.db') });
    try {
      await exactFill(store);
      // Audit: one record per request, atomically with its settlement.
      const recs = await store.queryAudit({ limit: 1000 });
      assert.equal(recs.length, 200);
      assert.equal(recs.filter((r) => r.kind === 'proxy').length, 50);
      assert.equal(recs.filter((r) => r.kind === 'proxy.blocked').length, 150);
      const okRec = recs.find((r) => r.kind === 'proxy');
      assert.equal(okRec?.payload['virtual_key_id'], 'k1');
      assert.equal(okRec?.payload['status'], 200);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const redisSkip = await redisSkipReason();
describeUnlessSkipped('governance: exact budget fill on redis', redisSkip, () => {
  let store: Store;
  let prefix: string;
  before(async () => {
    prefix = testPrefix();
    store = await openStore({ kind: 'redis', url: REDIS_URL, options: { prefix } });
  });
  after(async () => {
    await store.close();
    await deletePrefix(prefix);
  });
  test('redis store', { timeout: 120_000 }, async () => {
    await exactFill(store);
    const recs = await store.queryAudit({ limit: 1000 });
    assert.equal(recs.length, 200);
  });
});

