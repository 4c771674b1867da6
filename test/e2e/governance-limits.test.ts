import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { sendJson, startUpstream, type MockUpstream } from '../helpers/upstream.js';
import { chatBody, govConfig, post, TOKEN, usageUpstream } from './governance-kit.js';

const PRICES = '/work/shared/data/litellm/model_prices_and_context_window.json';

async function withGateway(up: MockUpstream, config: Record<string, unknown>, fn: (gw: TestGateway) => Promise<void>, overrides: Record<string, unknown> = {}): Promise<void> {
  const gw = await startTestGateway(config, overrides);
  try {
    await fn(gw);
  } finally {
    await gw.close();
    await up.close();
  }
}

async function errorOf(r: Response): Promise<{ message: string; type: string; code: string }> {
  return ((await r.json()) as { error: { message: string; type: string; code: string } }).error;
}

describe('governance: rate limits (§4.7, §7.5)', { timeout: 60_000 }, () => {
  test('rpm: the limit admits exactly N, then 429 with Retry-After and x-ratelimit-* headers', async () => {
    const up = await usageUpstream(() => ({ prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }));
    await withGateway(up, govConfig(up.baseUrl, { limits: { rpm: 3, tpm: 100000 } }), async (gw) => {
      const { body } = chatBody();
      for (let i = 0; i < 3; i++) assert.equal((await post(gw.url, body)).status, 200);
      const r = await post(gw.url, body);
      assert.equal(r.status, 429);
      const retry = Number(r.headers.get('retry-after'));
      assert.ok(retry >= 1 && retry <= 61, `retry-after ${retry}`);
      assert.equal(r.headers.get('x-ratelimit-limit-requests'), '3');
      assert.equal(r.headers.get('x-ratelimit-remaining-requests'), '0');
      assert.match(r.headers.get('x-ratelimit-reset-requests') ?? '', /^\d+(\.\d+)?m?s$/);
      assert.equal(r.headers.get('x-ratelimit-limit-tokens'), '100000');
      const e = await errorOf(r);
      assert.deepEqual([e.type, e.code, e.message], ['rate_limit_error', 'rate_limited', 'rate limit exceeded: rpm>3']);
      assert.equal(up.requests.length, 3);
    });
  });

  test('failed requests are refunded: upstream 500s do not use up the rpm', async () => {
    const up = await startUpstream();
    let fail = 2;
    up.handle((_req, res) => {
      if (fail-- > 0) sendJson(res, 500, { error: { message: 'boom' } });
      else sendJson(res, 200, { choices: [], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
    });
    await withGateway(up, govConfig(up.baseUrl, { limits: { rpm: 2 } }), async (gw) => {
      const { body } = chatBody();
      assert.equal((await post(gw.url, body)).status, 500);
      assert.equal((await post(gw.url, body)).status, 500);
      await gw.gw.governance.drain();
      assert.equal((await post(gw.url, body)).status, 200);
      assert.equal((await post(gw.url, body)).status, 200);
      assert.equal((await post(gw.url, body)).status, 429);
    });
  });

  test('tpm: charged the estimate at admission, corrected to real usage at settlement', async () => {
    const up = await usageUpstream(() => ({ prompt_tokens: 1, completion_tokens: 0, total_tokens: 1 }));
    const { body, charge } = chatBody();
    await withGateway(up, govConfig(up.baseUrl, { limits: { tpm: charge + 1 } }), async (gw) => {
      assert.equal((await post(gw.url, body)).status, 200);
      await gw.gw.governance.drain();
      // Without the correction the window would hold `charge` and this one would not fit.
      assert.equal((await post(gw.url, body)).status, 200);
      await gw.gw.governance.drain();
      const r = await post(gw.url, body);
      assert.equal(r.status, 429);
      assert.equal((await errorOf(r)).message, `rate limit exceeded: tpm>${charge + 1}`);
      assert.equal(r.headers.get('x-ratelimit-limit-tokens'), String(charge + 1));
      assert.equal(r.headers.get('x-ratelimit-remaining-tokens'), String(charge + 1 - 2));
    });
  });

  test('shared tenant scope pools keys; a rejected key consumes nothing', async () => {
    const up = await usageUpstream(() => ({ total_tokens: 1 }));
    const config = govConfig(up.baseUrl, { tenant_id: 'acme', tenant_limits: { rpm: 2 } });
    (config['virtual_keys'] as unknown[]).push({ id: 'k2', token: 'sk-gov-test-key-0002', enabled: true, tenant_id: 'acme', tenant_limits: { rpm: 2 } });
    await withGateway(up, config, async (gw) => {
      const { body } = chatBody();
      assert.equal((await post(gw.url, body)).status, 200);
      assert.equal((await post(gw.url, body, { authorization: 'Bearer sk-gov-test-key-0002' })).status, 200);
      assert.equal((await post(gw.url, body, { authorization: 'Bearer sk-gov-test-key-0002' })).status, 429);
      assert.equal((await post(gw.url, body)).status, 429);
      assert.equal((await post(gw.url, body, { authorization: 'Bearer sk-wrong' })).status, 401);
    });
  });

  test('limits.max_parallel: a second concurrent request gets 429 inflight_limit_key; the slot frees when the first ends', async () => {
    const up = await startUpstream();
    let release: (() => void) | undefined;
    const held = new Promise<void>((r) => { release = r; });
    let arrived: (() => void) | undefined;
    const first = new Promise<void>((r) => { arrived = r; });
    let n = 0;
    up.handle(async (_req, res) => {
      if (n++ === 0) {
        arrived?.();
        await held;
      }
      sendJson(res, 200, { choices: [], usage: { total_tokens: 1 } });
    });
    await withGateway(up, govConfig(up.baseUrl, { limits: { max_parallel: 1 } }), async (gw) => {
      const { body } = chatBody();
      const p1 = post(gw.url, body);
      await first;
      const r2 = await post(gw.url, body);
      assert.equal(r2.status, 429);
      assert.equal(r2.headers.get('retry-after'), '1');
      assert.equal((await errorOf(r2)).code, 'inflight_limit_key');
      release?.();
      assert.equal((await p1).status, 200);
      assert.equal((await post(gw.url, body)).status, 200);
    });
  });
});

describe('governance: streaming usage (§7.7)', { timeout: 60_000 }, () => {
  function sseUpstream(): Promise<MockUpstream> {
    return startUpstream().then((up) => {
      up.handle((_req, res, body) => {
        const json = JSON.parse(body.toString('utf8')) as { stream_options?: { include_usage?: boolean } };
        const withUsage = json.stream_options?.include_usage === true;
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const ev = (o: unknown): string => `data: ${JSON.stringify(o)}\n\n`;
        const u = withUsage ? { usage: null } : {};
        res.write(ev({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'Hi' } }], ...u }));
        res.write(ev({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], ...u }).slice(0, 30));
        setTimeout(() => {
          res.write(ev({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], ...u }).slice(30));
          if (withUsage) res.write(ev({ id: 'c1', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 100, completion_tokens: 23, total_tokens: 123 } }).slice(0, 17));
          setTimeout(() => {
            if (withUsage) res.write(ev({ id: 'c1', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 100, completion_tokens: 23, total_tokens: 123 } }).slice(17));
            res.end('data: [DONE]\n\n');
          }, 5);
        }, 5);
      });
      return up;
    });
  }

  test('a stream without include_usage settles on the real usage and the client never sees the usage chunk', async () => {
    const up = await sseUpstream();
    await withGateway(up, govConfig(up.baseUrl, { budget: { total_tokens: 100000 } }), async (gw) => {
      const { body, charge } = chatBody(10, { stream: true });
      const r = await post(gw.url, body);
      assert.equal(r.status, 200);
      const text = await r.text();
      assert.ok(!text.includes('"choices":[]'), text);
      assert.ok(!text.includes('total_tokens'), text);
      assert.ok(text.includes('"Hi"') && text.trimEnd().endsWith('data: [DONE]'));
      const sent = JSON.parse(up.requests[0]?.body.toString('utf8') ?? '{}') as { stream_options?: { include_usage?: boolean } };
      assert.equal(sent.stream_options?.include_usage, true, 'added upstream');
      await gw.gw.governance.drain();
      const [led] = await gw.gw.governance.store.listLedgers({ scopes: ['k1'] });
      assert.notEqual(charge, 123);
      assert.equal(led?.spentTokens, 123);
      assert.equal(led?.reservedTokens, 0);
    });
  });

  test('a client that asked for include_usage keeps its usage chunk', async () => {
    const up = await sseUpstream();
    await withGateway(up, govConfig(up.baseUrl, { budget: { total_tokens: 100000 } }), async (gw) => {
      const { body } = chatBody(10, { stream: true, stream_options: { include_usage: true } });
      const text = await (await post(gw.url, body)).text();
      assert.ok(text.includes('"total_tokens":123'));
      await gw.gw.governance.drain();
      const [led] = await gw.gw.governance.store.listLedgers({ scopes: ['k1'] });
      assert.equal(led?.spentTokens, 123);
    });
  });
});

describe('governance: USD budgets and pricing (§4.9, §7.8)', { timeout: 60_000 }, () => {
  const usage = { prompt_tokens: 1000, completion_tokens: 200, total_tokens: 1200, prompt_tokens_details: { cached_tokens: 400 } };

  test('cost header on a priced response; the ledger holds the settled micros; the period is reported', async () => {
    const up = await usageUpstream(() => usage);
    await withGateway(up, govConfig(up.baseUrl, { budget: { total_usd_micros: 1_000_000, duration: '1h' } }), async (gw) => {
      const r = await post(gw.url, chatBody(16).body);
      assert.equal(r.status, 200);
      // gpt-4o-mini: 600×0.15 + 400×0.075 + 200×0.6 = 240 micro-USD.
      assert.equal(r.headers.get('x-ditto-response-cost-usd'), '0.00024');
      await gw.gw.governance.drain();
      const [led] = await gw.gw.governance.store.listLedgers({ scopes: ['k1'] });
      assert.equal(led?.spentMicros, 240);
      assert.equal(led?.reservedMicros, 0);
      assert.equal(led?.periodMs, 3_600_000);
      assert.equal((led?.resetsAtMs ?? 0) % 3_600_000, 0, 'aligned to the UTC hour');
    }, { pricingLitellm: PRICES });
  });

  test('402 cost_budget_exceeded when the estimate does not fit; 400 for unpriceable endpoints; 500 without a price', async () => {
    const up = await usageUpstream(() => usage);
    await withGateway(up, govConfig(up.baseUrl, { budget: { total_usd_micros: 5 } }), async (gw) => {
      const r = await post(gw.url, chatBody(1000).body);
      assert.equal(r.status, 402);
      const e = await errorOf(r);
      assert.equal(e.code, 'cost_budget_exceeded');
      assert.match(e.message, /^budget exceeded: limit=5 attempted=\d+$/);
      const img = await fetch(`${gw.url}/v1/images/generations`, {
        method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{"prompt":"x"}',
      });
      assert.equal(img.status, 400);
      assert.equal((await errorOf(img)).code, 'cost_budget_unsupported_endpoint');
      const unknown = await post(gw.url, JSON.stringify({ model: 'no-such-model-xyz', messages: [] }));
      assert.equal(unknown.status, 500);
      assert.equal((await errorOf(unknown)).code, 'pricing_not_configured');
      assert.equal(up.requests.length, 0);
    }, { pricingLitellm: PRICES });
  });

  test('no pricing table and a USD budget: 500 pricing_not_configured before any backend call', async () => {
    const up = await usageUpstream(() => usage);
    await withGateway(up, govConfig(up.baseUrl, { budget: { total_usd_micros: 1000 } }), async (gw) => {
      const r = await post(gw.url, chatBody().body);
      assert.equal(r.status, 500);
      assert.equal((await errorOf(r)).code, 'pricing_not_configured');
      assert.equal(up.requests.length, 0);
    });
  });
});
