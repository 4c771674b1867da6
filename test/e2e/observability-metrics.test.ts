import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { chatCompletion, sendJson, startUpstream, type MockUpstream } from '../helpers/upstream.js';
import { parseExposition, samplesOf, valueOf, type MetricFamily } from '../observability/prom-parse.js';
import { until } from './routing-support.js';

// Prometheus exposition (CONTRACT §3.2, §4.14): known traffic, then exact counters, histograms and
// label sets from a strict parse of a real scrape.

const TOKEN = 'sk-test-metrics-key-0001';
const P = 'ditto_gateway_proxy_';
const TINY = 1e-12;

const SSE_OK = ['data: {"choices":[{"delta":{"content":"a"}}]}\n\n', 'data: {"choices":[{"delta":{"content":"b"}}]}\n\n', 'data: [DONE]\n\n'];
const SSE_HOLD_FIRST = 'data: {"choices":[{"delta":{"content":"first"}}]}\n\n';

let up: MockUpstream;

before(async () => {
  up = await startUpstream();
  // Backends are told apart by the first path segment; behaviour by the requested model.
  up.handle((_req, res, body, seen) => {
    const backend = seen.url.split('/')[1];
    const model = (JSON.parse(body.toString('utf8') || '{}') as { model?: string }).model ?? '';
    if (model === 'err-500') return sendJson(res, 500, { error: { message: 'boom' } });
    if (model.startsWith('fb-') && backend === 'primary') return sendJson(res, 503, { error: { message: 'unavailable' } });
    if (model === 'stream-ok') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const c of SSE_OK) res.write(c);
      res.end();
      return undefined;
    }
    if (model === 'stream-hold') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(SSE_HOLD_FIRST);
      return undefined; // held open until the client leaves
    }
    return sendJson(res, 200, chatCompletion(`hello from ${backend}`));
  });
});

after(async () => {
  await up?.close();
});

function config(): Record<string, unknown> {
  return {
    backends: [
      { name: 'primary', base_url: `${up.url}/primary/v1` },
      { name: 'secondary', base_url: `${up.url}/secondary/v1` },
    ],
    virtual_keys: [{ id: 'k1', token: TOKEN }],
    router: {
      default_backends: [{ backend: 'primary', weight: 1 }],
      rules: [{ model_prefix: 'fb-', backends: [{ backend: 'primary', weight: 1 }, { backend: 'secondary', weight: TINY }] }],
    },
  };
}

async function chat(gw: TestGateway, model: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }, extra: Record<string, unknown> = {}): Promise<Response> {
  const r = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], ...extra }),
  });
  await r.arrayBuffer();
  return r;
}

async function scrape(gw: TestGateway): Promise<Map<string, MetricFamily>> {
  const r = await fetch(`${gw.url}/metrics/prometheus`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'text/plain; version=0.0.4');
  return parseExposition(await r.text());
}

/** Start a stream that the upstream holds open; resolves once the first event arrived, with a function that leaves. */
function holdStream(gw: TestGateway): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const req = request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'x-request-id': 'held-stream' },
    }, (res) => {
      res.once('data', () => resolve(() => req.destroy()));
      res.on('error', () => undefined);
    });
    req.on('error', (err) => { if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err); });
    req.end(JSON.stringify({ model: 'stream-hold', stream: true, messages: [] }));
  });
}

test('without --prometheus-metrics, /metrics/prometheus is 404 not_configured', async () => {
  const gw = await startTestGateway(config());
  try {
    const r = await fetch(`${gw.url}/metrics/prometheus`);
    assert.equal(r.status, 404);
    assert.deepEqual(await r.json(), { error: { code: 'not_configured', message: 'prometheus metrics not enabled' } });
  } finally {
    await gw.close();
  }
});

test('one chat call: requests_total 1, one attempt on primary, nothing left in flight (§4.14 example)', async () => {
  const gw = await startTestGateway(config(), { prometheusMetrics: true });
  try {
    assert.equal((await chat(gw, 'gpt-ok')).status, 200);
    await until(() => gw.events().some((e) => e.event === 'proxy.response'), 10_000, 'access event');
    const m = await scrape(gw);
    assert.equal(valueOf(m, `${P}requests_total`), 1);
    assert.equal(valueOf(m, `${P}backend_attempts_total`, { backend: 'primary' }), 1);
    assert.equal(valueOf(m, `${P}backend_in_flight`, { backend: 'primary' }), 0);
    assert.equal(valueOf(m, `${P}backend_in_flight`, { backend: 'secondary' }), 0);
    // Standard process metrics ride along.
    assert.ok(m.has('process_cpu_user_seconds_total'), 'process metrics');
    assert.ok(m.has('nodejs_eventloop_lag_seconds'), 'node metrics');
  } finally {
    await gw.close();
  }
});

test('known traffic gives exact counters, histograms and label sets', { timeout: 60_000 }, async () => {
  const gw = await startTestGateway(config(), { prometheusMetrics: true, maxInFlight: 1, fallbackStatusCodes: [503] });
  try {
    assert.equal((await chat(gw, 'gpt-ok')).status, 200);
    assert.equal((await chat(gw, 'gpt-ok', {})).status, 401);
    assert.equal((await chat(gw, 'err-500')).status, 500);
    const fb = await chat(gw, 'fb-x', { authorization: `Bearer ${TOKEN}`, 'x-request-id': 'fallback-1' });
    assert.equal(fb.status, 200);
    assert.equal(fb.headers.get('x-ditto-backend'), 'secondary');
    const s = await chat(gw, 'stream-ok', undefined, { stream: true });
    assert.equal(s.status, 200);
    const leave = await holdStream(gw);
    // The held stream owns the only in-flight permit: the next request is refused with 429.
    const refused = await chat(gw, 'gpt-ok');
    assert.equal(refused.status, 429);
    const during = await scrape(gw);
    assert.equal(valueOf(during, `${P}stream_connections`), 1);
    assert.equal(valueOf(during, `${P}stream_connections_by_backend`, { backend: 'primary' }), 1);
    assert.equal(valueOf(during, `${P}backend_in_flight`, { backend: 'primary' }), 1);
    leave();
    await until(() => gw.events().some((e) => e.payload['request_id'] === 'held-stream'), 10_000, 'held stream finalized');

    const m = await scrape(gw);
    const v = (name: string, labels: Record<string, string> = {}): number | undefined => valueOf(m, P + name, labels);
    const path = { path: '/v1/chat/completions' };
    assert.equal(v('requests_total'), 7);
    assert.deepEqual(rows(m, 'requests_by_key_total'), [['k1', 6], ['public', 1]]);
    assert.deepEqual(rows(m, 'requests_by_model_total'), [['err-500', 1], ['fb-x', 1], ['gpt-ok', 1], ['stream-hold', 1], ['stream-ok', 1]]);
    assert.equal(v('requests_by_path_total', path), 7);
    assert.equal(v('rate_limited_total'), 1);
    assert.equal(v('rate_limited_by_key_total', { virtual_key_id: 'k1' }), 1);
    assert.equal(v('rate_limited_by_path_total', path), 1);
    assert.deepEqual(rows(m, 'rate_limited_by_model_total'), []);
    assert.equal(v('guardrail_blocked_total'), 0);
    assert.equal(v('budget_exceeded_total'), 0);
    assert.deepEqual(rows(m, 'responses_total'), [['200', 4], ['401', 1], ['429', 1], ['500', 1]]);
    assert.deepEqual(rows2(m, 'responses_by_path_status_total'), [['/v1/chat/completions', '200', 4], ['/v1/chat/completions', '401', 1], ['/v1/chat/completions', '429', 1], ['/v1/chat/completions', '500', 1]]);
    assert.deepEqual(rows2(m, 'responses_by_backend_status_total'), [['primary', '200', 3], ['primary', '500', 1], ['secondary', '200', 1]]);
    assert.deepEqual(rows2(m, 'responses_by_model_status_total'), [['err-500', '500', 1], ['fb-x', '200', 1], ['gpt-ok', '200', 1], ['stream-hold', '200', 1], ['stream-ok', '200', 1]]);
    assert.deepEqual(rows(m, 'backend_attempts_total'), [['primary', 5], ['secondary', 1]]);
    assert.deepEqual(rows(m, 'backend_success_total'), [['primary', 3], ['secondary', 1]]);
    assert.deepEqual(rows(m, 'backend_failures_total'), [['primary', 2]]);
    assert.deepEqual(rows(m, 'backend_in_flight'), [['primary', 0], ['secondary', 0]]);
    assert.equal(v('backend_request_duration_seconds_count', { backend: 'primary' }), 5);
    assert.equal(v('backend_request_duration_seconds_bucket', { backend: 'primary', le: '+Inf' }), 5);
    assert.equal(v('backend_request_duration_seconds_count', { backend: 'secondary' }), 1);
    assert.equal(v('request_duration_seconds_count', path), 7);
    assert.equal(v('request_duration_seconds_bucket', { ...path, le: '+Inf' }), 7);
    assert.ok((v('request_duration_seconds_sum', path) ?? 0) > 0);
    assert.deepEqual(samplesOf(m, `${P}request_duration_seconds_bucket`).map((x) => x.labels['le']),
      ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf']);
    assert.equal(v('request_duration_seconds_by_model_count', { model: 'gpt-ok' }), 1);
    assert.equal(v('stream_connections'), 0);
    assert.equal(v('stream_connections_by_backend', { backend: 'primary' }), 0);
    assert.equal(v('stream_completed_total'), 1);
    assert.equal(v('stream_aborted_total'), 1);
    assert.equal(v('stream_errors_total'), 0);
    assert.equal(v('stream_completed_by_backend_total', { backend: 'primary' }), 1);
    assert.equal(v('stream_aborted_by_path_total', path), 1);
    const bytes = Buffer.byteLength(SSE_OK.join('')) + Buffer.byteLength(SSE_HOLD_FIRST);
    assert.equal(v('stream_bytes_total'), bytes);
    assert.equal(v('stream_bytes_by_backend_total', { backend: 'primary' }), bytes);
    // Cache families exist (zero until a cache is configured).
    assert.equal(v('cache_lookups_total'), 0);
    assert.equal(v('cache_hits_total'), 0);
    assert.equal(v('cache_misses_total'), 0);
    for (const fam of ['cache_stores_total', 'cache_store_errors_total', 'cache_purges_total', 'cache_hits_by_source_total']) {
      assert.ok(m.has(P + fam), fam);
    }
  } finally {
    await gw.close();
  }
});

test('series caps fold extra label values into __overflow__; label values are redacted', async () => {
  const keys = [1, 2, 3, 4].map((i) => ({ id: `key-${i}`, token: `sk-test-cap-key-${i}` }));
  const gw = await startTestGateway({
    backends: [{ name: 'mock', provider: 'mock' }],
    virtual_keys: keys,
    router: { default_backends: [{ backend: 'mock', weight: 1 }] },
  }, { prometheusMetrics: true, prometheusMaxKeySeries: 3, prometheusMaxModelSeries: 2 });
  try {
    for (const k of keys) assert.equal((await chat(gw, 'mock-gpt', { authorization: `Bearer ${k.token}` })).status, 200);
    assert.equal((await chat(gw, 'sk-1234567890abcdef', { authorization: `Bearer ${keys[0]?.token}` })).status, 200);
    assert.equal((await chat(gw, 'third-model', { authorization: `Bearer ${keys[0]?.token}` })).status, 200);
    await until(() => gw.events().filter((e) => e.event === 'proxy.response').length === 6, 10_000, 'six access events');
    const m = await scrape(gw);
    assert.deepEqual(rows(m, 'requests_by_key_total'), [['__overflow__', 1], ['key-1', 3], ['key-2', 1], ['key-3', 1]]);
    assert.deepEqual(rows(m, 'requests_by_model_total'), [['<redacted>', 1], ['__overflow__', 1], ['mock-gpt', 4]]);
  } finally {
    await gw.close();
  }
});

test('the default key cap is 1024: the 1025th key folds into __overflow__', { timeout: 120_000 }, async () => {
  const keys = Array.from({ length: 1025 }, (_, i) => ({ id: `k${String(i).padStart(4, '0')}`, token: `sk-test-many-${i}` }));
  const gw = await startTestGateway({
    backends: [{ name: 'mock', provider: 'mock' }],
    virtual_keys: keys,
    router: { default_backends: [{ backend: 'mock', weight: 1 }] },
  }, { prometheusMetrics: true });
  try {
    for (let i = 0; i < keys.length; i += 8) {
      await Promise.all(keys.slice(i, i + 8).map(async (k, j) => {
        // Requests run in key order within a batch of 8 so the last key is the 1025th distinct value.
        await new Promise((r) => setTimeout(r, j));
        const res = await chat(gw, 'mock-gpt', { authorization: `Bearer ${k.token}` });
        assert.equal(res.status, 200);
      }));
      await until(() => gw.events().filter((e) => e.event === 'proxy.response').length >= Math.min(i + 8, keys.length), 10_000, 'batch finalized');
    }
    const m = await scrape(gw);
    const byKey = samplesOf(m, `${P}requests_by_key_total`);
    assert.equal(byKey.length, 1025, '1024 keys + __overflow__');
    assert.equal(valueOf(m, `${P}requests_by_key_total`, { virtual_key_id: '__overflow__' }), 1);
    assert.equal(byKey.filter((s) => s.labels['virtual_key_id'] !== '__overflow__').every((s) => s.value === 1), true);
    assert.equal(valueOf(m, `${P}requests_total`), 1025);
  } finally {
    await gw.close();
  }
});

/** `[labelValue, value]` rows of a one-label family, in exposition order. */
function rows(m: Map<string, MetricFamily>, name: string): Array<[string, number]> {
  return samplesOf(m, P + name).map((s) => [Object.values(s.labels)[0] as string, s.value]);
}

function rows2(m: Map<string, MetricFamily>, name: string): Array<[string, string, number]> {
  return samplesOf(m, P + name).map((s) => [Object.values(s.labels)[0] as string, Object.values(s.labels)[1] as string, s.value]);
}

test('402 budget refusals count in budget_exceeded_*; settled usage feeds the token counters and the access event', async () => {
  const gw = await startTestGateway({
    ...config(),
    virtual_keys: [
      { id: 'k-poor', token: 'sk-test-metrics-poor-01', budget: { total_tokens: 1 } },
      { id: 'k-rich', token: 'sk-test-metrics-rich-01', budget: { total_tokens: 1_000_000 } },
    ],
  }, { prometheusMetrics: true });
  try {
    const refused = await chat(gw, 'gpt-ok', { authorization: 'Bearer sk-test-metrics-poor-01' });
    assert.equal(refused.status, 402);
    const ok = await chat(gw, 'gpt-ok', { authorization: 'Bearer sk-test-metrics-rich-01', 'x-request-id': 'usage-1' });
    assert.equal(ok.status, 200);
    await until(() => gw.events().filter((e) => e.event === 'proxy.response' || e.event === 'proxy.error').length === 2, 10_000, 'two access events');
    const m = await scrape(gw);
    assert.equal(valueOf(m, `${P}budget_exceeded_total`), 1);
    assert.deepEqual(rows(m, 'budget_exceeded_by_key_total'), [['k-poor', 1]]);
    assert.deepEqual(rows(m, 'budget_exceeded_by_model_total'), [['gpt-ok', 1]]);
    assert.equal(valueOf(m, `${P}budget_exceeded_by_path_total`, { path: '/v1/chat/completions' }), 1);
    assert.equal(valueOf(m, `${P}rate_limited_total`), 0);
    // chatCompletion() reports prompt 5, completion 2.
    assert.equal(valueOf(m, 'ditto_gateway_usage_input_tokens_total', { virtual_key_id: 'k-rich', model: 'gpt-ok' }), 5);
    assert.equal(valueOf(m, 'ditto_gateway_usage_output_tokens_total', { virtual_key_id: 'k-rich', model: 'gpt-ok' }), 2);
    const ev = gw.events().find((e) => e.payload['request_id'] === 'usage-1');
    assert.equal(ev?.payload['input_tokens'], 5);
    assert.equal(ev?.payload['output_tokens'], 2);
  } finally {
    await gw.close();
  }
});
