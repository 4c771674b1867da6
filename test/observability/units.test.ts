import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { RedactionSchema } from '../../src/config/observability.js';
import { createLogger, redactingLogger } from '../../src/observability/logger.js';
import { normalizePath } from '../../src/observability/prometheus.js';
import { Redactor } from '../../src/observability/redact.js';
import { sampled, samplingId } from '../../src/observability/sampling.js';
import {
  BatchSpanProcessor, formatTraceparent, JsonLinesExporter, newTrace, otlpBody, parseTraceparent, unixNanos, type SpanData,
} from '../../src/observability/tracing.js';
import { parseExposition } from './prom-parse.js';

const defaults = (): Redactor => new Redactor(RedactionSchema.parse({}));

test('redaction: key names at any depth (case-insensitive), headers, query params in URL keys, regexes', () => {
  const r = defaults();
  const out = r.redact({
    request_id: 'r1',
    nested: { deep: [{ API_KEY: 'k', Token: { a: 1 }, fine: 'visible' }] },
    authorization: 'Bearer abc',
    url: 'https://h.test/p?api_key=v1&keep=1&Token=v2',
    path: '/v1/x?key=abc',
    other: 'no query here ?api_key=v3',
    text: 'my key sk-ABCDEFGHIJKL and bearer xyz.123 end',
  });
  assert.deepEqual(out, {
    request_id: 'r1',
    nested: { deep: [{ API_KEY: '<redacted>', Token: '<redacted>', fine: 'visible' }] },
    authorization: '<redacted>',
    url: 'https://h.test/p?api_key=<redacted>&keep=1&Token=<redacted>',
    path: '/v1/x?key=<redacted>',
    other: 'no query here ?api_key=v3',
    text: 'my key <redacted> and <redacted> end',
  });
});

test('redaction: JSON pointers, custom replacement, label values, input never mutated', () => {
  const r = new Redactor(RedactionSchema.parse({ replacement: '***', redact_json_pointers: ['/messages/0/content', '/a~1b', '/missing/x'], redact_key_names: ['model'] }));
  const input = { messages: [{ role: 'user', content: 'secret prompt' }], 'a/b': 'x', model: 'm' };
  const copy = structuredClone(input);
  assert.deepEqual(r.redact(input), { messages: [{ role: 'user', content: '***' }], 'a/b': '***', model: '***' });
  assert.deepEqual(input, copy);
  assert.equal(r.labelValue('model', 'gpt-4o'), '***', 'label name listed in redact_key_names');
  const d = defaults();
  assert.equal(d.labelValue('model', 'sk-1234567890'), '<redacted>');
  assert.equal(d.labelValue('model', 'gpt-4o'), 'gpt-4o');
  assert.deepEqual(d.redactHeaders({ 'X-Api-Key': 'a', 'x-other': 'Bearer tok', accept: 'json' }), { 'X-Api-Key': '<redacted>', 'x-other': '<redacted>', accept: 'json' });
});

test('sampling is deterministic, salted per stream, and close to the rate', () => {
  const ids = Array.from({ length: 2000 }, (_, i) => `ditto-1700000000000-${i}`);
  const a = ids.filter((id) => sampled(id, 0.3, 'logs'));
  assert.deepEqual(a, ids.filter((id) => sampled(id, 0.3, 'logs')));
  assert.ok(a.length > 500 && a.length < 700, `~30% (${a.length})`);
  const b = ids.filter((id) => sampled(id, 0.3, 'devtools'));
  assert.notDeepEqual(a, b, 'different salts sample different requests');
  assert.equal(ids.every((id) => sampled(id, 1, 'logs')), true);
  assert.equal(ids.some((id) => sampled(id, 0, 'logs')), false);
  assert.equal(samplingId({ trace_id: 't', id: 'i' }), 't');
  assert.equal(samplingId({ message: 'x' }), undefined);
});

test('path labels: known endpoints, id patterns, everything else folded', () => {
  const cases: Array<[string, string]> = [
    ['/v1/chat/completions', '/v1/chat/completions'],
    ['/v1/models/gpt-4o', '/v1/models/*'],
    ['/v1/models/org/model', '/v1/models/*'],
    ['/v1/batches/batch_1', '/v1/batches/*'],
    ['/v1/batches/batch_1/cancel', '/v1/batches/*/cancel'],
    ['/v1/files/file-1', '/v1/files/*'],
    ['/v1/files/file-1/content', '/v1/files/*/content'],
    ['/v1/responses/resp_1', '/v1/responses/*'],
    ['/v1/responses/resp_1/input_items', '/v1/responses/*'],
    ['/v1/fine_tuning/jobs', '/v1/*'],
    ['/v1beta/models/gemini:generateContent', '/v1beta/*'],
  ];
  for (const [raw, want] of cases) assert.equal(normalizePath(raw), want, raw);
});

test('traceparent: valid ones parsed, invalid ones ignored, ids fresh and well-formed', () => {
  const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  assert.deepEqual(parseTraceparent(tp), { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' });
  assert.deepEqual(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra'), { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' });
  for (const bad of [undefined, '', 'garbage', '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra', '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01']) {
    assert.equal(parseTraceparent(bad), undefined, String(bad));
  }
  const t = newTrace(tp);
  assert.equal(t.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(t.parentSpanId, '00f067aa0ba902b7');
  const fresh = newTrace(undefined);
  assert.match(fresh.traceId, /^[0-9a-f]{32}$/);
  assert.match(fresh.serverSpanId, /^[0-9a-f]{16}$/);
  assert.notEqual(newTrace(undefined).traceId, fresh.traceId);
  assert.equal(formatTraceparent('a'.repeat(32), 'b'.repeat(16)), `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`);
  assert.equal(unixNanos(1700000000123.5), '1700000000123500000');
  assert.equal(unixNanos(5), '5000000');
});

const span = (i: number): SpanData => ({
  traceId: 'a'.repeat(32), spanId: String(i).padStart(16, '0'), parentSpanId: undefined, name: 'ditto.gateway.proxy', kind: 2,
  startMs: 1000, endMs: 1001.5, attributes: { status: 200, path: '/v1/x', ok: true, ratio: 0.5 }, status: 0,
});

test('OTLP JSON body and JSON-lines export shapes', async () => {
  const doc = JSON.parse(otlpBody([span(1)], '1.2.3')) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }> };
  const s = doc.resourceSpans[0]?.scopeSpans[0]?.spans[0] as Record<string, unknown>;
  assert.equal(s['startTimeUnixNano'], '1000000000');
  assert.equal(s['endTimeUnixNano'], '1001500000');
  assert.equal('parentSpanId' in s, false);
  assert.deepEqual(s['attributes'], [
    { key: 'status', value: { intValue: '200' } }, { key: 'path', value: { stringValue: '/v1/x' } },
    { key: 'ok', value: { boolValue: true } }, { key: 'ratio', value: { doubleValue: 0.5 } },
  ]);
  let out = '';
  await new JsonLinesExporter({ write: (x: string) => { out += x; } }).export([span(1), span(2)]);
  const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 2);
  assert.equal(lines[0]?.['kind'], 'server');
  assert.deepEqual(lines[0]?.['attributes'], { status: 200, path: '/v1/x', ok: true, ratio: 0.5 });
});

test('the span queue is bounded: beyond it spans are dropped, never queued without limit', async () => {
  const got: SpanData[] = [];
  let release!: () => void;
  const blocked = new Promise<void>((resolve) => { release = resolve; });
  const p = new BatchSpanProcessor({ export: async (b) => { await blocked; got.push(...b); } }, () => undefined, { maxQueue: 3, batchSize: 2, intervalMs: 10 });
  for (let i = 0; i < 10; i++) p.add(span(i));
  // batch 1 (2 spans) is exporting; 3 more fit the queue; 5 are dropped.
  assert.equal(p.dropped, 5);
  release();
  await p.flush();
  assert.equal(got.length, 5);
  assert.equal(p.exported, 5);
});

test('the human access line, and redaction of operator messages', () => {
  const lines: string[] = [];
  const sink = new Writable({ write(c: Buffer, _e, cb) { lines.push(c.toString('utf8')); cb(); } });
  const log = redactingLogger(createLogger({ json: false, destination: sink }), defaults(), 0);
  log.event('proxy.response', { method: 'POST', path: '/v1/chat/completions', status: 200, latency_ms: 12.5, virtual_key_id: 'k1', model: 'sk-1234567890ab', backend: 'primary', request_id: 'r1' });
  log.warn('upstream said Bearer abcdef');
  assert.match(lines[0] ?? '', /Z POST \/v1\/chat\/completions 200 12\.5ms key=k1 model=<redacted> backend=primary request_id=r1\n$/);
  assert.match(lines[1] ?? '', /warning: upstream said <redacted>\n$/);
  // Sampling applies to JSON logs only: rate 0 still writes human lines.
  assert.equal(lines.length, 2);
});

test('JSON logs at rate 0 drop request events but keep operator messages', () => {
  const lines: string[] = [];
  const sink = new Writable({ write(c: Buffer, _e, cb) { lines.push(c.toString('utf8')); cb(); } });
  const log = redactingLogger(createLogger({ json: true, destination: sink }), defaults(), 0);
  log.event('proxy.response', { request_id: 'r1', status: 200 });
  log.warn('still here');
  log.flush();
  const events = lines.join('').trim().split('\n').map((l) => JSON.parse(l) as { event: string });
  assert.deepEqual(events.map((e) => e.event), ['gateway.warning']);
});

test('the test exposition parser is strict', () => {
  assert.throws(() => parseExposition('# HELP a x\n# TYPE a counter\nb 1\n'), /outside its family/);
  assert.throws(() => parseExposition('# HELP a x\n# TYPE a counter\na{l="1"} 1\na{l="1"} 2\n'), /duplicate/);
  assert.throws(() => parseExposition('# HELP a x\n# TYPE a counter\na{l=1} 1\n'), /not quoted/);
  assert.throws(() => parseExposition('# HELP h x\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'), /cumulative/);
  assert.throws(() => parseExposition('# HELP h x\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 2\n'), /\+Inf/);
  const ok = parseExposition('# HELP a x\n# TYPE a counter\na{l="q\\"uote\\\\"} 3\n');
  assert.equal(ok.get('a')?.samples[0]?.labels['l'], 'q"uote\\');
});
