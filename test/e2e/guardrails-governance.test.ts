/**
 * A guardrail refusal consumes no rate limit and no budget (CONTRACT §4.12: guardrails run before
 * `rate_limit` and `budget`), and with a store it is audited as `proxy.blocked` with its reason (§4.13).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore } from '../../src/store/index.js';
import { bearer, startTestGateway } from '../helpers/gateway.js';
import { startUpstream, sendJson } from '../helpers/upstream.js';

const USAGE = { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 };

async function upstreamWithUsage(): Promise<Awaited<ReturnType<typeof startUpstream>>> {
  const up = await startUpstream();
  up.handle((_req, res) => sendJson(res, 200, {
    id: 'c1', object: 'chat.completion', created: 1, model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: USAGE,
  }));
  return up;
}

async function chat(url: string, token: string, content: string): Promise<{ status: number; error: { code?: string; message?: string } | undefined }> {
  const r = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }),
  });
  const body = (await r.json()) as { error?: { code?: string; message?: string } };
  return { status: r.status, error: body.error };
}

test('refused requests consume no rpm: after five refusals the key still gets its two requests, then 429', async () => {
  const up = await upstreamWithUsage();
  const gw = await startTestGateway({
    backends: [{ name: 'up', base_url: up.baseUrl }],
    virtual_keys: [{ id: 'k', token: 'sk-gr-rpm', limits: { rpm: 2 }, guardrails: { banned_phrases: ['forbidden'] } }],
    router: { default_backends: [{ backend: 'up' }] },
  });
  try {
    for (let i = 0; i < 5; i++) assert.equal((await chat(gw.url, 'sk-gr-rpm', `a forbidden request ${i}`)).status, 403);
    assert.equal((await chat(gw.url, 'sk-gr-rpm', 'fine 1')).status, 200);
    assert.equal((await chat(gw.url, 'sk-gr-rpm', 'fine 2')).status, 200);
    const third = await chat(gw.url, 'sk-gr-rpm', 'fine 3');
    assert.equal(third.status, 429, 'the limit is real: the third allowed request is over rpm 2');
    assert.equal(third.error?.code, 'rate_limited');
    // A refusal is still a refusal when the limit is exhausted: guardrails answer first.
    assert.equal((await chat(gw.url, 'sk-gr-rpm', 'forbidden again')).status, 403);
    assert.equal(up.requests.length, 2);
  } finally {
    await gw.close();
    await up.close();
  }
});

test('refused requests consume no budget and are audited as proxy.blocked with their reason (SQLite store)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ditto-gr-gov-'));
  const store = await openStore({ kind: 'sqlite', path: join(dir, 'gov.db') });
  const up = await upstreamWithUsage();
  const gw = await startTestGateway({
    backends: [{ name: 'up', base_url: up.baseUrl }],
    virtual_keys: [{ id: 'kb', token: 'sk-gr-budget', budget: { total_tokens: 100 }, guardrails: { block_pii: true, validate_schema: true } }],
    router: { default_backends: [{ backend: 'up' }] },
  }, {}, process.env, { store });
  try {
    // Each of these would charge ~300 tokens (over the whole budget) if it got as far as the budget.
    const big = 'x'.repeat(1200);
    for (let i = 0; i < 3; i++) {
      const r = await chat(gw.url, 'sk-gr-budget', `${big} mail ${i}@example.com`);
      assert.equal(r.status, 403, 'refused by the guardrail, not by the budget (402)');
      assert.equal(r.error?.message, 'guardrail rejected: pii:email');
    }
    const schema = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST', headers: { ...bearer('sk-gr-budget'), 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini' }),
    });
    assert.equal(schema.status, 400);
    const ok = await chat(gw.url, 'sk-gr-budget', 'hello');
    assert.equal(ok.status, 200, 'the budget is untouched by the refusals');
    assert.equal(up.requests.length, 1);

    const ledger = (await store.listLedgers({ scopes: ['kb'] }))[0];
    assert.equal(ledger?.spentTokens, USAGE.total_tokens, 'only the allowed request is charged');
    assert.equal(ledger?.reservedTokens, 0);
    const blocked = (await store.queryAudit({ limit: 100 })).filter((a) => a.kind === 'proxy.blocked');
    assert.deepEqual(blocked.map((a) => a.payload['reason']).sort(), ['missing field `messages`', 'pii:email', 'pii:email', 'pii:email']);
    for (const a of blocked) assert.equal(a.payload['virtual_key_id'], 'kb');
  } finally {
    await gw.close();
    await up.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
