import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { defaultOptions, FlagError, parseArgs } from '../../src/cli/args.js';
import { makeEnvLookup } from '../../src/config/env.js';
import { loadConfigDocument } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { startGateway } from '../../src/server.js';

test('observability flags: defaults, values, implications and errors', () => {
  const d = defaultOptions();
  assert.deepEqual([d.prometheusMetrics, d.prometheusMaxKeySeries, d.prometheusMaxModelSeries, d.prometheusMaxBackendSeries, d.prometheusMaxPathSeries], [false, 1024, 1024, 128, 128]);
  assert.deepEqual([d.otel, d.otelEndpoint, d.otelJson, d.devtools], [false, undefined, false, undefined]);
  const o = parseArgs(['c.json', '--prometheus-max-key-series', '10', '--prometheus-max-path-series=5']);
  assert.equal(o.prometheusMetrics, true, 'a cap implies --prometheus-metrics');
  assert.equal(o.prometheusMaxKeySeries, 10);
  assert.equal(o.prometheusMaxPathSeries, 5);
  assert.equal(parseArgs(['c.json', '--prometheus-max-model-series', '7']).prometheusMaxModelSeries, 7);
  assert.equal(parseArgs(['c.json', '--prometheus-max-backend-series', '3']).prometheusMaxBackendSeries, 3);
  const t = parseArgs(['c.json', '--otel-endpoint', 'http://collector:4318/v1/traces']);
  assert.equal(t.otel, true);
  assert.equal(t.otelEndpoint, 'http://collector:4318/v1/traces');
  const j = parseArgs(['c.json', '--otel-json', '--devtools', '/tmp/x.jsonl']);
  assert.deepEqual([j.otel, j.otelJson, j.devtools], [true, true, '/tmp/x.jsonl']);
  assert.throws(() => parseArgs(['c.json', '--otel-endpoint', 'ftp://x']), FlagError);
  assert.throws(() => parseArgs(['c.json', '--prometheus-max-key-series', '0']), /must be > 0/);
  assert.throws(() => parseArgs(['c.json', '--prometheus-max-key-series', 'x']), /invalid --prometheus-max-key-series/);
  assert.throws(() => parseArgs(['c.json', '--devtools', ' ']), /--devtools cannot be empty/);
});

test('--otel-json: every span as one JSON line on the given stream, server and client linked', async () => {
  const loaded = loadConfigDocument({
    backends: [{ name: 'mock', provider: 'mock' }],
    virtual_keys: [{ id: 'k1', token: 'sk-test-oteljson-01' }],
    router: { default_backends: [{ backend: 'mock', weight: 1 }] },
  }, makeEnvLookup(process.env), { upstreams: [] });
  let out = '';
  const spanOut = { write: (s: string) => { out += s; } };
  const logger = createLogger({ json: true, destination: new Writable({ write(_c, _e, cb) { cb(); } }) });
  const running = await startGateway(loaded.config, { ...defaultOptions(), listen: { host: '127.0.0.1', port: 0 }, otel: true, otelJson: true }, logger, { telemetry: { spanOut } });
  try {
    const r = await fetch(`${running.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-test-oteljson-01', 'content-type': 'application/json', 'x-request-id': 'json-span-1' },
      body: JSON.stringify({ model: 'mock-gpt', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
  } finally {
    await running.shutdown(0);
  }
  const spans = out.trim().split('\n').map((l) => JSON.parse(l) as { name: string; kind: string; span_id: string; trace_id: string; parent_span_id: string | null; attributes: Record<string, unknown> });
  const server = spans.find((s) => s.kind === 'server');
  const client = spans.find((s) => s.kind === 'client');
  assert.ok(server && client);
  assert.equal(server.name, 'ditto.gateway.proxy');
  assert.equal(server.attributes['request_id'], 'json-span-1');
  assert.equal(server.attributes['gen_ai.system'], 'mock');
  assert.equal(server.parent_span_id, null);
  assert.equal(client.parent_span_id, server.span_id);
  assert.equal(client.trace_id, server.trace_id);
});
