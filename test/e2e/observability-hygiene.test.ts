import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { sampled } from '../../src/observability/sampling.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { DEVTOOLS_BODY_CAP } from '../../src/observability/devtools.js';
import { startTestGateway } from '../helpers/gateway.js';
import { chatCompletion, sendJson, startUpstream, type MockUpstream } from '../helpers/upstream.js';

// Secret hygiene (CONTRACT §4.14): with known virtual keys, upstream keys and `sk-` strings in
// headers, bodies and query strings, no log line, metric, devtools line or span carries any of them.
// (Free-text secrets follow the default `sk-[A-Za-z0-9]{10,}` pattern; secrets under key, header and
// query-parameter names may look like anything.) Plus deterministic sampling of JSON logs and devtools lines, and the devtools line format.

const VK = 'sk-vk-secret-CCCC3333dddd';
const SECRETS = {
  vk: VK,
  upstreamHeader: 'sk-upstream-secret-AAAA1111',
  upstreamQuery: 'sk-upstream-query-BBBB2222',
  query: 'sk-query-DDDD4444eeee',
  queryPlain: 'hunter2query',
  header: 'sk-header-EEEE5555ffff',
  body: 'sk-bodyFFFF6666gggg',
  bodyField: 'plain-secret-value-1',
  password: 'hunter2pass',
  wrongKey: 'sk-wrong-GGGG7777hhhh',
  model: 'sk-modelHHHH8888iiii',
  bearerInContent: 'opaque-bearer-token-xyz',
};

let up: MockUpstream;
let receiver: Server;
let receiverUrl: string;
const otlp: string[] = [];
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ditto-obs-'));
  up = await startUpstream();
  up.handle((_req, res, body, seen) => {
    const backend = seen.url.split('/')[1];
    const parsed = JSON.parse(body.toString('utf8') || '{}') as { model?: string; stream?: boolean };
    if (parsed.model === 'fb-model' && backend === 'primary') return sendJson(res, 503, { error: { message: 'down' } });
    if (parsed.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: {"choices":[]}\n\ndata: [DONE]\n\n');
      return undefined;
    }
    return sendJson(res, 200, chatCompletion('ok'));
  });
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      otlp.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200);
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/traces`;
});

after(async () => {
  await up?.close();
  receiver?.closeAllConnections();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

function config(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    backends: [
      { name: 'primary', base_url: `${up.url}/primary/v1`, headers: { authorization: `Bearer ${SECRETS.upstreamHeader}` }, query_params: { api_key: SECRETS.upstreamQuery } },
      { name: 'secondary', base_url: `${up.url}/secondary/v1`, headers: { authorization: `Bearer ${SECRETS.upstreamHeader}` } },
    ],
    virtual_keys: [{ id: 'team-a', token: VK }],
    router: {
      default_backends: [{ backend: 'primary', weight: 1 }],
      rules: [{ model_prefix: 'fb-', backends: [{ backend: 'primary', weight: 1 }, { backend: 'secondary', weight: 1e-12 }] }],
    },
    ...extra,
  };
}

test('no secret reaches a log line, a metric, an audit record, a devtools line or a span', { timeout: 60_000 }, async () => {
  const devtools = join(dir, 'hygiene.jsonl');
  otlp.length = 0;
  const store = await openSqliteStore(join(dir, 'hygiene.db'));
  const ADMIN = 'admin-token-hygiene-test-0001';
  const gw = await startTestGateway(config(), {
    prometheusMetrics: true, otel: true, otelEndpoint: receiverUrl, devtools, fallbackStatusCodes: [503], adminToken: ADMIN,
  }, process.env, { store });
  let scrape = '';
  let audit = '';
  try {
    const send = async (path: string, headers: Record<string, string>, body: unknown): Promise<number> => {
      const r = await fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
      await r.arrayBuffer();
      return r.status;
    };
    const auth = { authorization: `Bearer ${VK}` };
    const content = `my key is ${SECRETS.body}, and Bearer ${SECRETS.bearerInContent}`;
    assert.equal(await send(`/v1/chat/completions?api_key=${SECRETS.query}&key=${SECRETS.queryPlain}&keep=visible`,
      { ...auth, 'x-api-key': SECRETS.header, 'x-request-id': 'hyg-1' },
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content }], api_key: SECRETS.bodyField, metadata: { password: SECRETS.password, url: `https://x.test/cb?token=${SECRETS.queryPlain}` } }), 200);
    assert.equal(await send('/v1/chat/completions', { authorization: `Bearer ${SECRETS.wrongKey}` }, { model: 'gpt-4o-mini' }), 401);
    assert.equal(await send('/v1/chat/completions', auth, { model: SECRETS.model, messages: [] }), 200);
    assert.equal(await send('/v1/chat/completions', { ...auth, 'x-request-id': 'hyg-fb' }, { model: 'fb-model', messages: [{ role: 'user', content }] }), 200);
    assert.equal(await send('/v1/chat/completions', auth, { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content }] }), 200);
    const r = await fetch(`${gw.url}/metrics/prometheus`);
    scrape = await r.text();
    const a = await fetch(`${gw.url}/admin/audit/export`, { headers: { authorization: `Bearer ${ADMIN}` } });
    assert.equal(a.status, 200);
    audit = await a.text();
  } finally {
    await gw.close();
    await store.close();
  }
  const logs = gw.logs.join('\n');
  const dev = readFileSync(devtools, 'utf8');
  const spans = otlp.join('\n');
  assert.ok(logs.length > 0 && dev.length > 0 && spans.length > 0 && scrape.length > 0, 'every sink has content');
  assert.equal(audit.trim().split('\n').length, 5, 'one audit record per request');
  for (const [name, secret] of Object.entries(SECRETS)) {
    for (const [sink, text] of [['logs', logs], ['metrics', scrape], ['audit', audit], ['devtools', dev], ['spans', spans]] as const) {
      assert.equal(text.includes(secret), false, `${name} leaked into ${sink}`);
    }
  }
  // The redacted values are still recognisable as redacted, and what is not secret is kept.
  const lines = dev.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const req1 = lines.find((l) => l['event'] === 'proxy.request' && l['request_id'] === 'hyg-1') as Record<string, unknown>;
  assert.ok(req1);
  assert.equal((req1['headers'] as Record<string, unknown>)['authorization'], '<redacted>');
  assert.equal((req1['headers'] as Record<string, unknown>)['x-api-key'], '<redacted>');
  assert.equal(req1['query'], '?api_key=<redacted>&key=<redacted>&keep=visible');
  const body = req1['body'] as { messages: Array<{ content: string }>; api_key: string; metadata: { password: string; url: string } };
  assert.equal(body.messages[0]?.content, 'my key is <redacted>, and <redacted>');
  assert.equal(body.api_key, '<redacted>');
  assert.equal(body.metadata.password, '<redacted>');
  assert.equal(body.metadata.url, 'https://x.test/cb?token=<redacted>');
  assert.match(scrape, /ditto_gateway_proxy_requests_by_model_total\{model="<redacted>"\} 1/);
});

test('devtools: one request and one response line per request, documented fields, bodies capped', async () => {
  const devtools = join(dir, 'format.jsonl');
  const gw = await startTestGateway(config(), { devtools });
  const big = 'x'.repeat(DEVTOOLS_BODY_CAP + 1000);
  try {
    const r1 = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${VK}`, 'content-type': 'application/json', 'x-request-id': 'dev-1' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] }),
    });
    await r1.arrayBuffer();
    const r2 = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${VK}`, 'content-type': 'application/json', 'x-request-id': 'dev-2' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: big }] }),
    });
    await r2.arrayBuffer();
  } finally {
    await gw.close();
  }
  const lines = readFileSync(devtools, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(lines.map((l) => [l['event'], l['request_id']]), [['proxy.request', 'dev-1'], ['proxy.response', 'dev-1'], ['proxy.request', 'dev-2'], ['proxy.response', 'dev-2']]);
  const [req, res, bigReq] = lines as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
  assert.equal(req['method'], 'POST');
  assert.equal(req['path'], '/v1/chat/completions');
  assert.equal(req['virtual_key_id'], 'team-a');
  assert.equal(req['model'], 'gpt-4o-mini');
  assert.equal(typeof req['ts_ms'], 'number');
  assert.deepEqual(req['body'], { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
  assert.equal(req['body_truncated'], false);
  assert.equal(res['status'], 200);
  assert.equal(res['backend'], 'primary');
  assert.equal(res['outcome'], 'relayed');
  assert.equal(typeof res['latency_ms'], 'number');
  assert.deepEqual((res['attempts'] as Array<Record<string, unknown>>).map((a) => [a['backend'], a['result'], a['status']]), [['primary', 'ok', 200]]);
  assert.equal(bigReq['body_truncated'], true);
  assert.equal((bigReq['body'] as string).length, DEVTOOLS_BODY_CAP);
});

test('json_logs_rate and devtools_rate sample deterministically by request id, all events of a request together', { timeout: 60_000 }, async () => {
  const devtools = join(dir, 'sampled.jsonl');
  const gw = await startTestGateway(config({ observability: { sampling: { json_logs_rate: 0.5, devtools_rate: 0.25 } } }), { devtools, fallbackStatusCodes: [503] });
  const ids = Array.from({ length: 40 }, (_, i) => `sample-${i}`);
  try {
    for (const id of ids) {
      const r = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${VK}`, 'content-type': 'application/json', 'x-request-id': id },
        body: JSON.stringify({ model: 'fb-model', messages: [] }),
      });
      assert.equal(r.status, 200);
      await r.arrayBuffer();
    }
  } finally {
    await gw.close();
  }
  const logged = ids.filter((id) => gw.events().some((e) => e.payload['request_id'] === id && e.event === 'proxy.response'));
  assert.deepEqual(logged, ids.filter((id) => sampled(id, 0.5, 'logs')));
  assert.ok(logged.length > 5 && logged.length < 35, `about half logged (${logged.length})`);
  for (const id of ids) {
    const names = gw.events().filter((e) => e.payload['request_id'] === id).map((e) => e.event);
    assert.deepEqual(names, logged.includes(id) ? ['proxy.fallback', 'proxy.response'] : [], id);
  }
  const dev = readFileSync(devtools, 'utf8').trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { request_id: string; event: string });
  const devIds = [...new Set(dev.map((l) => l.request_id))];
  assert.deepEqual(devIds, ids.filter((id) => sampled(id, 0.25, 'devtools')));
  assert.ok(devIds.length > 0 && devIds.length < 25, `about a quarter captured (${devIds.length})`);
  assert.equal(dev.length, devIds.length * 2);
});
