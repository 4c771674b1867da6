import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestGateway } from '../helpers/gateway.js';
import { chatCompletion, sendJson, startUpstream, type MockUpstream } from '../helpers/upstream.js';

// OpenTelemetry (CONTRACT §4.14): an in-process OTLP/HTTP receiver gets one server span per request
// and one client span per upstream attempt, linked parent → child; the client's traceparent is
// honoured and the upstream receives the attempt span's traceparent.

const TOKEN = 'sk-test-tracing-key-0001';
const TINY = 1e-12;

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Array<{ key: string; value: { stringValue?: string; intValue?: string; boolValue?: boolean; doubleValue?: number } }>;
  status: { code: number };
}

let up: MockUpstream;
let receiver: Server;
let receiverUrl: string;
const bodies: Array<{ contentType: string | undefined; doc: { resourceSpans: Array<{ resource: unknown; scopeSpans: Array<{ spans: OtlpSpan[] }> }> } }> = [];

before(async () => {
  up = await startUpstream();
  up.handle((_req, res, body, seen) => {
    const backend = seen.url.split('/')[1];
    const model = (JSON.parse(body.toString('utf8') || '{}') as { model?: string }).model ?? '';
    if (model.startsWith('fb-') && backend === 'primary') return sendJson(res, 503, { error: { message: 'unavailable' } });
    return sendJson(res, 200, chatCompletion(`hello from ${backend}`, 'gpt-4o-mini-2024'));
  });
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        bodies.push({ contentType: req.headers['content-type'], doc: JSON.parse(Buffer.concat(chunks).toString('utf8')) as (typeof bodies)[number]['doc'] });
      }
      res.writeHead(200, { 'content-type': 'application/json' });
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
});

function allSpans(): OtlpSpan[] {
  return bodies.flatMap((b) => b.doc.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
}

function attrs(s: OtlpSpan): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const a of s.attributes) {
    const v = a.value;
    out[a.key] = v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : v.boolValue ?? v.doubleValue ?? '');
  }
  return out;
}

test('server and client spans reach the OTLP receiver, linked, with GenAI and §4.14 attributes; traceparent flows both ways', { timeout: 60_000 }, async () => {
  bodies.length = 0;
  const gw = await startTestGateway({
    backends: [{ name: 'primary', base_url: `${up.url}/primary/v1` }, { name: 'secondary', base_url: `${up.url}/secondary/v1` }],
    virtual_keys: [{ id: 'k1', token: TOKEN }],
    router: {
      default_backends: [{ backend: 'primary', weight: 1 }],
      rules: [{ model_prefix: 'fb-', backends: [{ backend: 'primary', weight: 1 }, { backend: 'secondary', weight: TINY }] }],
    },
  }, { otel: true, otelEndpoint: receiverUrl, fallbackStatusCodes: [503] });
  const clientTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const clientSpan = '00f067aa0ba902b7';
  const seenBefore = up.requests.length;
  try {
    const r = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', traceparent: `00-${clientTrace}-${clientSpan}-01`, 'x-request-id': 'trace-1' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    const fb = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'x-request-id': 'trace-2' },
      body: JSON.stringify({ model: 'fb-model', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(fb.status, 200);
    await fb.arrayBuffer();
  } finally {
    await gw.close(); // flushes the span queue
  }
  assert.ok(bodies.length >= 1, 'at least one export');
  assert.equal(bodies[0]?.contentType, 'application/json');
  const spans = allSpans();

  // Request 1: the client's trace continues; the upstream saw the attempt span's context.
  const server1 = spans.find((s) => s.name === 'ditto.gateway.proxy' && attrs(s)['request_id'] === 'trace-1');
  assert.ok(server1, 'server span for trace-1');
  assert.equal(server1.kind, 2);
  assert.equal(server1.traceId, clientTrace);
  assert.equal(server1.parentSpanId, clientSpan);
  assert.match(server1.spanId, /^[0-9a-f]{16}$/);
  assert.ok(BigInt(server1.endTimeUnixNano) > BigInt(server1.startTimeUnixNano));
  const a1 = attrs(server1);
  assert.equal(a1['method'], 'POST');
  assert.equal(a1['path'], '/v1/chat/completions');
  assert.equal(a1['model'], 'gpt-4o-mini');
  assert.equal(a1['virtual_key_id'], 'k1');
  assert.equal(a1['backend'], 'primary');
  assert.equal(a1['status'], 200);
  assert.equal(a1['cache'], 'bypass');
  assert.equal(a1['gen_ai.system'], 'openai');
  assert.equal(a1['gen_ai.request.model'], 'gpt-4o-mini');
  assert.equal(a1['http.request.method'], 'POST');
  assert.equal(a1['http.response.status_code'], 200);
  assert.equal(a1['server.address'], '127.0.0.1');
  const clients1 = spans.filter((s) => s.kind === 3 && s.parentSpanId === server1.spanId);
  assert.equal(clients1.length, 1);
  const c1 = clients1[0] as OtlpSpan;
  assert.equal(c1.traceId, clientTrace);
  assert.equal(attrs(c1)['ditto.backend'], 'primary');
  assert.equal(attrs(c1)['http.response.status_code'], 200);
  assert.equal(attrs(c1)['server.address'], '127.0.0.1');
  const upstream1 = up.requests.slice(seenBefore).find((q) => q.headers['x-request-id'] === 'trace-1');
  assert.equal(upstream1?.headers['traceparent'], `00-${clientTrace}-${c1.spanId}-01`);

  // Request 2 (no traceparent): a fresh trace, two attempts, the failed one marked as an error.
  const server2 = spans.find((s) => s.name === 'ditto.gateway.proxy' && attrs(s)['request_id'] === 'trace-2');
  assert.ok(server2);
  assert.match(server2.traceId, /^[0-9a-f]{32}$/);
  assert.notEqual(server2.traceId, clientTrace);
  assert.equal(server2.parentSpanId, undefined);
  const clients2 = spans.filter((s) => s.kind === 3 && s.parentSpanId === server2.spanId);
  assert.deepEqual(clients2.map((s) => attrs(s)['ditto.backend']), ['primary', 'secondary']);
  assert.equal(clients2[0]?.status.code, 2);
  assert.equal(attrs(clients2[0] as OtlpSpan)['http.response.status_code'], 503);
  assert.equal(clients2[1]?.status.code, 0);
  const upstream2 = up.requests.slice(seenBefore).filter((q) => q.headers['x-request-id'] === 'trace-2');
  assert.deepEqual(upstream2.map((q) => q.headers['traceparent']), clients2.map((s) => `00-${server2.traceId}-${s.spanId}-01`));
});

test('without --otel the client traceparent passes through unchanged and nothing is exported', async () => {
  bodies.length = 0;
  const gw = await startTestGateway({
    backends: [{ name: 'primary', base_url: `${up.url}/primary/v1` }],
    virtual_keys: [{ id: 'k1', token: TOKEN }],
    router: { default_backends: [{ backend: 'primary', weight: 1 }] },
  });
  const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  try {
    const r = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', traceparent: tp, 'x-request-id': 'plain-1' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [] }),
    });
    await r.arrayBuffer();
    assert.equal(up.requests.find((q) => q.headers['x-request-id'] === 'plain-1')?.headers['traceparent'], tp);
  } finally {
    await gw.close();
  }
  assert.equal(bodies.length, 0);
});

test('an unreachable OTLP endpoint never fails requests; the export failure is logged once', async () => {
  const gw = await startTestGateway({
    backends: [{ name: 'primary', base_url: `${up.url}/primary/v1` }],
    virtual_keys: [{ id: 'k1', token: TOKEN }],
    router: { default_backends: [{ backend: 'primary', weight: 1 }] },
  }, { otel: true, otelEndpoint: 'http://127.0.0.1:1/v1/traces' });
  try {
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [] }),
      });
      assert.equal(r.status, 200);
      await r.arrayBuffer();
    }
    await gw.gw.telemetry.spans?.flush();
    assert.equal(gw.gw.telemetry.spans?.exported, 0);
    assert.ok((gw.gw.telemetry.spans?.dropped ?? 0) >= 6, 'server + client span of each request dropped');
    assert.equal(gw.events().filter((e) => e.event === 'gateway.warning' && String(e.payload['message']).includes('span export failed')).length, 1);
  } finally {
    await gw.close();
  }
});
