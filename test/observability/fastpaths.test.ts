import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { RedactionSchema, type RedactionConfig } from '../../src/config/observability.js';
import { compileConfigRegex } from '../../src/config/regex.js';
import { createLogger } from '../../src/observability/logger.js';
import { Redactor } from '../../src/observability/redact.js';
import { redactSpanAttributes } from '../../src/observability/telemetry.js';
import {
  BatchSpanProcessor, OtlpHttpExporter, otlpBody, otlpBodyBuffer, unixNanos, type AttrValue, type SpanData,
} from '../../src/observability/tracing.js';
import { seededRandom as rng } from '../helpers/rng.js';

// The observability fast paths against the straightforward implementations they replaced, on many
// inputs: the OTLP encoder (fragment memo, direct-to-buffer writes), the memoised redactor, set-time
// span redaction, the JSON event line written without pino's serializer.

const ODD_STRINGS = [
  '', 'gpt-4o-mini', '/v1/chat/completions', 'quote " and \\ backslash', 'tab\tnew\nline\u0001ctl', 'ünïcødé ✓ 模型',
  'emoji 😀', 'lone \ud800 surrogate', 'line\u2028sep', 'Bearer abc.def', 'sk-ABCDEFGHIJKLMNOP', 'x'.repeat(300), 'y'.repeat(257),
];
const ODD_NUMBERS = [0, -0, 1, -1, 200, 2 ** 53, 1e21, 0.5, -3.25, 1e-7, NaN, Infinity, -Infinity, 123456789.123];

function randomValue(r: () => number, i: number): AttrValue {
  const k = r();
  if (k < 0.35) return ODD_STRINGS[Math.floor(r() * ODD_STRINGS.length)] as string;
  if (k < 0.55) return `v-${Math.floor(r() * 600)}-${i % 3}`; // more distinct values than the per-key memo holds
  if (k < 0.8) return ODD_NUMBERS[Math.floor(r() * ODD_NUMBERS.length)] as number;
  if (k < 0.9) return r() < 0.5;
  return Math.floor(r() * 1e6) / 7;
}

function randomSpans(r: () => number, n: number): SpanData[] {
  const out: SpanData[] = [];
  for (let i = 0; i < n; i++) {
    const attributes: Record<string, AttrValue> = {};
    const nAttrs = Math.floor(r() * 14);
    for (let a = 0; a < nAttrs; a++) attributes[r() < 0.8 ? `k${Math.floor(r() * 20)}` : `key "${Math.floor(r() * 2000)}" ✓`] = randomValue(r, i);
    const start = 1_764_197_000_000 + r() * 1e6;
    out.push({
      traceId: 'ab'.repeat(16), spanId: (i + 1).toString(16).padStart(16, '0'), parentSpanId: r() < 0.5 ? 'cd'.repeat(8) : undefined,
      name: ODD_STRINGS[Math.floor(r() * ODD_STRINGS.length)] as string, kind: r() < 0.5 ? 2 : 3,
      startMs: start, endMs: start + r() * 100, attributes, status: r() < 0.3 ? 2 : 0,
    });
  }
  return out;
}

/** The encoder as it was before the fragment memo and buffer writes (string concatenation). */
function referenceOtlpBody(spans: readonly SpanData[], serviceVersion: string): string {
  const value = (v: AttrValue): string => {
    if (typeof v === 'string') return `{"stringValue":${JSON.stringify(v)}}`;
    if (typeof v === 'boolean') return `{"boolValue":${v}}`;
    return Number.isInteger(v) ? `{"intValue":"${v}"}` : Number.isFinite(v) ? `{"doubleValue":${v}}` : `{"stringValue":"${v}"}`;
  };
  const nanos = (ms: number): string => {
    const whole = Math.floor(ms);
    const frac = Math.min(999999, Math.round((ms - whole) * 1e6));
    return `${whole}${String(frac).padStart(6, '0')}`;
  };
  const version = JSON.stringify(serviceVersion);
  let out = `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"ditto-gateway"}},{"key":"service.version","value":{"stringValue":${version}}}]},` +
    `"scopeSpans":[{"scope":{"name":"ditto-gateway","version":${version}},"spans":[`;
  spans.forEach((s, i) => {
    const attrs = Object.entries(s.attributes).map(([k, v]) => `{"key":${JSON.stringify(k)},"value":${value(v)}}`).join(',');
    out += `${i === 0 ? '' : ','}{"traceId":"${s.traceId}","spanId":"${s.spanId}"${s.parentSpanId !== undefined ? `,"parentSpanId":"${s.parentSpanId}"` : ''},` +
      `"name":${JSON.stringify(s.name)},"kind":${s.kind},"startTimeUnixNano":"${nanos(s.startMs)}","endTimeUnixNano":"${nanos(s.endMs)}",` +
      `"attributes":[${attrs}],"status":{"code":${s.status}}}`;
  });
  return `${out}]}]}]}`;
}

test('OTLP encoder: byte-identical to the plain string encoder on 3000 random spans in batches of every size', () => {
  const r = rng(42);
  const sizes = [0, 1, 2, 7, 64, 511, 512, 900, 3, 1];
  let total = 0;
  for (let round = 0; round < 3; round++) {
    for (const n of sizes) {
      const spans = randomSpans(r, n);
      total += n;
      const want = referenceOtlpBody(spans, round === 1 ? 'v"1 ✓' : '0.1.0');
      const got = otlpBodyBuffer(spans, round === 1 ? 'v"1 ✓' : '0.1.0');
      assert.equal(got.toString('utf8'), want);
      assert.equal(got.length, Buffer.byteLength(want), 'the body is exactly the encoded bytes');
      assert.doesNotThrow(() => JSON.parse(got.toString('utf8')));
      assert.equal(otlpBody(spans, '0.1.0'), referenceOtlpBody(spans, '0.1.0'));
    }
  }
  assert.ok(total > 3000);
  // A body far over the size hint of the previous one grows the buffer and stays exact.
  const huge = randomSpans(r, 5).map((s) => ({ ...s, attributes: { ...s.attributes, big: 'z✓'.repeat(200_000) } }));
  assert.equal(otlpBodyBuffer(huge, '1').toString('utf8'), referenceOtlpBody(huge, '1'));
});

test('unixNanos: the same digits as padStart for every microsecond fraction edge', () => {
  const ref = (ms: number): string => {
    const whole = Math.floor(ms);
    const frac = Math.min(999999, Math.round((ms - whole) * 1e6));
    return `${whole}${String(frac).padStart(6, '0')}`;
  };
  const r = rng(7);
  const cases = [0, 1, 1.5, 0.000001, 0.9999999, 1_764_197_000_000 + 0.0001, 1_764_197_000_000 + 0.9999996, 12.000049];
  for (let i = 0; i < 5000; i++) cases.push(1_764_197_000_000 + r() * 1e7);
  for (const ms of cases) assert.equal(unixNanos(ms), ref(ms), `ms=${ms}`);
});

/** The redactor's rules written out plainly, without memos (the reference for the memoised one). */
function referenceRedactor(cfg: RedactionConfig): { str(s: string): string; doc(v: unknown): unknown } {
  const keys = new Set([...cfg.redact_key_names, ...cfg.redact_headers].map((k) => k.toLowerCase()));
  const urlKeys = new Set(cfg.sanitize_query_in_keys.map((k) => k.toLowerCase()));
  const params = new Set(cfg.redact_query_params.map((k) => k.toLowerCase()));
  const res = cfg.redact_regexes.map((p) => compileConfigRegex(p, 'g'));
  const str = (s: string): string => res.reduce((acc, re) => acc.replace(re, cfg.replacement), s);
  const url = (s: string): string => {
    const q = s.indexOf('?');
    if (q < 0 || params.size === 0) return str(s);
    const parts = s.slice(q + 1).split('&').map((pair) => {
      const eq = pair.indexOf('=');
      const raw = eq < 0 ? pair : pair.slice(0, eq);
      let name = raw;
      try { name = decodeURIComponent(raw.replace(/\+/g, ' ')); } catch { /* raw */ }
      return params.has(name.toLowerCase()) ? `${raw}=${cfg.replacement}` : pair;
    });
    return str(`${s.slice(0, q + 1)}${parts.join('&')}`);
  };
  const walk = (v: unknown, key: string | undefined): unknown => {
    if (typeof v === 'string') return key !== undefined && urlKeys.has(key.toLowerCase()) ? url(v) : str(v);
    if (v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((x) => walk(x, key));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = keys.has(k.toLowerCase()) ? cfg.replacement : walk(x, k);
    return out;
  };
  return { str, doc: (v) => walk(v, undefined) };
}

test('memoised redactor: the same results as the plain rules over 20,000 strings (past the memo bounds) and nested documents', () => {
  for (const cfg of [RedactionSchema.parse({}), RedactionSchema.parse({ replacement: '###', redact_key_names: ['Model', 'status'], redact_regexes: ['secret\\d+', '(?i)bearer\\s+[^\\s]+'] })]) {
    const red = new Redactor(cfg);
    const ref = referenceRedactor(cfg);
    const r = rng(3);
    const pool = [...ODD_STRINGS, 'secret123 and secret9', 'x sk-0123456789abcdef y', 'BEARER tok', 'https://h/p?key=sk-1234567890abc&a=1'];
    for (let i = 0; i < 20_000; i++) {
      // Repeats (memo hits), fresh values (memo misses and starts over past 4096), long ones (never memoised).
      const s = r() < 0.5 ? (pool[Math.floor(r() * pool.length)] as string) : `${pool[Math.floor(r() * pool.length)]}-${i}${r() < 0.05 ? 'q'.repeat(300) : ''}`;
      assert.equal(red.redactString(s), ref.str(s));
      assert.equal(red.redactString(s), ref.str(s), 'a memo hit answers the same');
    }
    for (let i = 0; i < 2000; i++) {
      const k = [`k${i % 1500}`, 'Model', 'MODEL', 'path', 'URL', 'token', 'Authorization', 'status', 'nested'][Math.floor(r() * 9)] as string;
      const doc = { [k]: pool[i % pool.length], path: `/v1/x?token=abc&n=${i}`, status: 200, nested: { [k]: [pool[(i + 1) % pool.length], { token: 'x' }] }, list: [k, i] };
      assert.deepEqual(red.redact(doc), ref.doc(doc));
      assert.equal(red.isSecretKey(k), new Set([...cfg.redact_key_names, ...cfg.redact_headers].map((x) => x.toLowerCase())).has(k.toLowerCase()));
    }
  }
});

test('span attributes redacted when set: the same as the export-time pass they replaced', () => {
  const cfg = RedactionSchema.parse({ redact_key_names: ['model'] });
  const red = new Redactor(cfg);
  const r = rng(11);
  for (let i = 0; i < 3000; i++) {
    const attrs: Record<string, AttrValue> = {};
    for (let a = 0; a < 8; a++) attrs[['model', 'token', 'url.path', 'request_id', 'Secret', 'x', `k${a}`][Math.floor(r() * 7)] as string] = randomValue(r, i);
    const want: Record<string, AttrValue> = {};
    for (const [k, v] of Object.entries(attrs)) want[k] = red.isSecretKey(k) ? cfg.replacement : typeof v === 'string' ? referenceRedactor(cfg).str(v) : v;
    redactSpanAttributes(red, attrs);
    assert.deepEqual(attrs, want);
  }
});

test('JSON event lines: the same bytes pino writes, cycles fall back to pino, and the level still applies', () => {
  const r = rng(5);
  const ours: string[] = [];
  const theirs: string[] = [];
  const log = createLogger({ json: true, destination: new Writable({ write(c: Buffer, _e, cb) { ours.push(c.toString('utf8')); cb(); } }) });
  const p = pino({ base: null, timestamp: () => '"ts_ms":0', formatters: { level: () => ({}) }, messageKey: 'message' },
    new Writable({ write(c: Buffer, _e, cb) { theirs.push(c.toString('utf8')); cb(); } }));
  const names = ['proxy.response', 'proxy.error', 'proxy.blocked', 'budget.exceeded'];
  for (let i = 0; i < 2000; i++) {
    const payload: Record<string, unknown> = {};
    for (let k = 0; k < 10; k++) {
      const v = randomValue(r, i);
      payload[`f${Math.floor(r() * 12)}`] = r() < 0.1 ? undefined : r() < 0.1 ? null : r() < 0.1 ? [v, { inner: v }] : v;
    }
    const name = names[i % names.length] as string;
    log.event(name, payload);
    p.info({ event: name, payload });
  }
  assert.equal(ours.length, 2000);
  assert.deepEqual(ours.map((l) => l.replace(/^\{"ts_ms":\d+,/, '{"ts_ms":0,')), theirs);
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic['self'] = cyclic;
  log.event('proxy.response', cyclic);
  assert.match(ours[2000] ?? '', /"event":"proxy\.response","payload":\{"a":1,"self":"\[Circular\]"\}/);
  const quiet: string[] = [];
  const warnOnly = createLogger({ json: true, level: 'warn', destination: new Writable({ write(c: Buffer, _e, cb) { quiet.push(c.toString('utf8')); cb(); } }) });
  warnOnly.event('proxy.response', { a: 1 });
  warnOnly.warn('kept');
  assert.equal(quiet.length, 1);
  assert.match(quiet[0] ?? '', /gateway\.warning/);
});

const span = (i: number): SpanData => ({
  traceId: 'a'.repeat(32), spanId: String(i + 1).padStart(16, '0'), parentSpanId: undefined, name: 'ditto.gateway.proxy', kind: 2,
  startMs: 1000, endMs: 1001, attributes: { i }, status: 0,
});

test('the span processor never exports inside add(): a full batch goes out on a later turn', async () => {
  const calls: number[] = [];
  const p = new BatchSpanProcessor({ export: async (b) => { calls.push(b.length); } }, () => undefined, { maxQueue: 100, batchSize: 4, intervalMs: 60_000 });
  for (let i = 0; i < 4; i++) p.add(span(i));
  assert.deepEqual(calls, [], 'the request that filled the batch does not pay for its export');
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(calls, [4]);
  await p.flush();
  assert.equal(p.exported, 4);
});

test('OTLP/HTTP exporter: JSON bodies with their length over one kept-alive connection; non-2xx and timeouts reject', async () => {
  const seen: Array<{ port: number; length: string | undefined; type: string | undefined; spans: number }> = [];
  let mode: 'ok' | 'fail' | 'hang' = 'ok';
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (mode === 'hang') return;
      const doc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: unknown[] }> }> };
      seen.push({ port: req.socket.remotePort ?? 0, length: req.headers['content-length'], type: req.headers['content-type'], spans: doc.resourceSpans[0]?.scopeSpans[0]?.spans.length ?? -1 });
      res.writeHead(mode === 'ok' ? 200 : 503, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
  const exporter = new OtlpHttpExporter(url, '1.0.0', 300);
  try {
    await exporter.export([span(1), span(2)]);
    await exporter.export([span(3)]);
    assert.equal(seen.length, 2);
    assert.deepEqual(seen.map((s) => s.spans), [2, 1]);
    assert.equal(seen[0]?.port, seen[1]?.port, 'the second export reuses the connection');
    assert.equal(seen[0]?.length, String(Buffer.byteLength(otlpBody([span(1), span(2)], '1.0.0'))));
    assert.equal(seen[0]?.type, 'application/json');
    mode = 'fail';
    await assert.rejects(exporter.export([span(4)]), /OTLP endpoint answered 503/);
    mode = 'hang';
    await assert.rejects(exporter.export([span(5)]), /timed out after 300 ms/);
    mode = 'ok';
    await exporter.export([span(6)]);
    assert.equal(seen.at(-1)?.spans, 1, 'a new connection after the timed-out one');
  } finally {
    exporter.shutdown();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('randomHex: lowercase hex of the asked length, never all zeros, no repeats across pool refills', async () => {
  const { randomHex } = await import('../../src/observability/tracing.js');
  const seen = new Set<string>();
  for (let i = 0; i < 3000; i++) {
    for (const n of [8, 16]) {
      const id = randomHex(n);
      assert.match(id, n === 8 ? /^[0-9a-f]{16}$/ : /^[0-9a-f]{32}$/);
      assert.notEqual(id, '0'.repeat(2 * n));
      assert.equal(seen.has(id), false);
      seen.add(id);
    }
  }
});

test('the observe finalizer logs the same payload as the spread-built one it replaced', async () => {
  const { observe } = await import('../../src/pipeline/finalizers/observe.js');
  type Ctx = Parameters<typeof observe.run>[0];
  const reference = (c: Record<string, unknown> & { attempts: Array<{ backend: string }>; gov?: { usage?: { input: number; output: number; total: number }; costPico?: bigint }; error?: { code: string }; guardrailReason?: string }): Record<string, unknown> => ({
    request_id: c['id'], method: c['method'], path: c['path'], status: c['status'], latency_ms: 1.5,
    virtual_key_id: (c['key'] as { id: string } | undefined)?.id ?? null, model: c['model'] ?? null, backend: c['backend'] ?? null,
    attempted_backends: c.attempts.map((a) => a.backend), outcome: c['outcome'], stream: c['streamed'], body_len: c['bodyBytes'],
    response_bytes: c['responseBytes'], charge_tokens: c['chargeTokens'],
    ...(c.gov?.usage === undefined ? {} : {
      input_tokens: c.gov.usage.input, output_tokens: c.gov.usage.output, total_tokens: c.gov.usage.total,
      ...(c.gov.costPico !== undefined ? { cost_usd: Number(c.gov.costPico) / 1e12 } : {}),
    }),
    ...(c.error ? { error_code: c.error.code } : {}),
    ...(c.guardrailReason !== undefined ? { reason: c.guardrailReason } : {}),
  });
  const variants = [
    {},
    { gov: { usage: { input: 3, output: 4, total: 7 } } },
    { gov: { usage: { input: 3, output: 4, total: 7 }, costPico: 1234567n } },
    { gov: {} },
    { error: { code: 'rate_limited' }, outcome: 'local_reply', status: 429 },
    { guardrailReason: 'pii', error: { code: 'guardrail_rejected' }, status: 400 },
    { key: undefined, model: undefined, backend: undefined, attempts: [] },
  ];
  for (const v of variants) {
    const logged: Array<{ name: string; payload: Record<string, unknown> }> = [];
    const base = {
      id: 'ditto-1-1', method: 'POST', path: '/v1/chat/completions', status: 200, key: { id: 'k1' }, model: 'm', backend: 'b',
      attempts: [{ backend: 'a' }, { backend: 'b' }], outcome: 'relayed', streamed: false, bodyBytes: 10, responseBytes: 20, chargeTokens: 0,
      elapsedMs: () => 1.5, gw: { logger: { event: (name: string, payload: Record<string, unknown>) => logged.push({ name, payload }) }, telemetry: { finish: () => undefined } },
      ...v,
    };
    observe.run(base as unknown as Ctx);
    assert.equal(logged.length, 1);
    assert.equal(JSON.stringify(logged[0]?.payload), JSON.stringify(reference(base)), JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x)));
  }
});
