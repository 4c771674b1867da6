import assert from 'node:assert/strict';
import { test } from 'node:test';
import { usageFromJsonBody, usageFromObject } from '../../src/usage/extract.js';
import type { TokenUsage } from '../../src/pricing/table.js';
import { seededRandom as rng } from '../helpers/rng.js';

// usageFromJsonBody reads a top-level `usage` from the tail of the body when it can (src/usage/extract.ts);
// on every valid JSON body it must answer exactly what a full parse answers.

function reference(body: Buffer): TokenUsage | undefined {
  try {
    const o = JSON.parse(body.toString('utf8')) as Record<string, unknown> | null;
    if (o === null || typeof o !== 'object') return undefined;
    return usageFromObject(o['usage']) ?? usageFromObject((o['response'] as Record<string, unknown> | undefined)?.['usage']);
  } catch {
    return undefined;
  }
}

test('usageFromJsonBody equals a full parse on generated bodies (usage nested, in strings, duplicated, wrapped)', () => {
  const r = rng(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const usage = (): unknown => pick([
    { prompt_tokens: Math.floor(r() * 1000), completion_tokens: Math.floor(r() * 1000), total_tokens: 7 },
    { input_tokens: 3, output_tokens: 4, input_tokens_details: { cached_tokens: 1 } },
    { prompt_tokens: -1 }, 'usage', null, { nothing: true },
  ]);
  const text = (): string => pick(['usage', '"usage":', '{"usage":{"prompt_tokens":9}}', 'plain', 'ünïcode "usage"', '\\', '}]{[', '']);
  const value = (depth: number): unknown => {
    const k = r();
    if (depth > 3 || k < 0.3) return text();
    if (k < 0.4) return Math.floor(r() * 100);
    if (k < 0.55) return Array.from({ length: Math.floor(r() * 3) }, () => value(depth + 1));
    return object(depth + 1);
  };
  const object = (depth: number): Record<string, unknown> => {
    const o: Record<string, unknown> = {};
    const n = Math.floor(r() * 4);
    for (let i = 0; i < n; i++) o[pick(['id', 'choices', 'usage', 'response', 'model', 'x'])] = pick(['usage', 'response']) === 'usage' && r() < 0.3 ? usage() : value(depth);
    return o;
  };
  let withUsage = 0;
  for (let i = 0; i < 5000; i++) {
    const top = object(0);
    if (r() < 0.5) top['usage'] = usage();
    if (r() < 0.2) top['response'] = { usage: usage(), output: value(1) };
    if (r() < 0.3) top[pick(['service_tier', 'system_fingerprint', 'z'])] = value(1);
    let json = JSON.stringify(top, null, r() < 0.3 ? 2 : undefined);
    // A duplicate top-level key: JSON.parse keeps the last one.
    if (r() < 0.1) json = `{"usage":${JSON.stringify(usage())},${json.slice(1)}`;
    const body = Buffer.from(json);
    const want = reference(body);
    if (want !== undefined) withUsage++;
    assert.deepEqual(usageFromJsonBody(body), want, json);
  }
  assert.ok(withUsage > 1000, `enough bodies carried usable usage (${withUsage})`);
});

test('usageFromJsonBody: the common OpenAI answer, and bodies without usage', () => {
  const body = Buffer.from(JSON.stringify({ id: 'c', choices: [{ message: { content: 'the "usage" of words' } }], usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12, prompt_tokens_details: { cached_tokens: 2 } }, service_tier: 'default' }));
  assert.deepEqual(usageFromJsonBody(body), { input: 5, output: 7, cachedInput: 2, cacheCreation: 0, total: 12 });
  assert.equal(usageFromJsonBody(Buffer.from('{"data":[]}')), undefined);
  assert.equal(usageFromJsonBody(Buffer.from('{"usage": not json')), undefined);
});

/** The tail read with JSON.parse (what the byte scanner must equal on any body, valid or not), then a full parse. */
function tailReference(body: Buffer): TokenUsage | undefined {
  const at = body.lastIndexOf('"usage"');
  if (at < 0) return undefined;
  try {
    const u = usageFromObject((JSON.parse(`{${body.toString('utf8', at)}`) as Record<string, unknown>)['usage']);
    if (u !== undefined) return u;
  } catch {
    // a full parse decides
  }
  return reference(body);
}

test('the tail scanner answers like JSON.parse on mutated bodies: escapes, numbers, whitespace, broken bytes', () => {
  const r = rng(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const num = (): string => (r() < 0.8
    ? pick(['0', '7', '12', '233', '1.0', '1.5', '2e2', '2E+1', '3e-0', '-0', '123456789012345', '1234567890123456', '9007199254740993'])
    : pick(['-3', '01', '1.', '.5', '-', '1e', '00']));
  const val = (): string => (r() < 0.6 ? num() : r() < 0.85
    ? pick(['"s"', '""', '"\\u0041"', '"a\\"b"', 'true', 'false', 'null', '[]', '[1,2]', '{}', '{"cached_tokens":3}',
      '{"cached_tokens":1,"cached_tokens":4}', '{"a":{"b":[{"c":null}]}}'])
    : pick(['"\\x"', 'tru', '[1,]', '{"cached_tokens":3,}', '"\u0001"']));
  const key = (): string => pick(['"prompt_tokens"', '"completion_tokens"', '"total_tokens"', '"input_tokens"', '"output_tokens"',
    '"prompt_tokens_details"', '"input_tokens_details"', '"cache_read_input_tokens"', '"cache_creation_input_tokens"', '"other"',
    '"prompt\\u005ftokens"', '"prompt_tokens\\n"', '"ü"']);
  const sp = (): string => pick(['', '', ' ', '\n  ', '\t', '\r\n']);
  let usable = 0;
  for (let i = 0; i < 20_000; i++) {
    const members = Array.from({ length: 1 + Math.floor(r() * 4) }, () => `${sp()}${key()}${sp()}:${sp()}${val()}${sp()}`);
    const usage = r() < 0.95 ? `{${members.join(',')}}` : val();
    const rest = Array.from({ length: Math.floor(r() * 3) }, () => `,${sp()}${pick(['"id"', '"system_fingerprint"', '"us\\u0061ge"', '"usage_x"'])}${sp()}:${sp()}${val()}`).join('');
    let json = `{"id":"x","choices":[],${sp()}"usage"${sp()}:${sp()}${usage}${rest}${sp()}}${sp()}`;
    if (r() < 0.1) { // break one byte
      const at = Math.floor(r() * json.length);
      json = json.slice(0, at) + pick(['', ',', '}', '"', '\\', '\u0000', 'x']) + json.slice(at + 1);
    }
    const body = Buffer.from(json);
    const want = tailReference(body);
    if (want !== undefined) usable++;
    assert.deepEqual(usageFromJsonBody(body), want, json);
  }
  assert.ok(usable > 2000, `enough bodies carried usable usage (${usable})`);
});

test('the common OpenAI answer is read without JSON.parse (the byte scanner takes it)', () => {
  const body = Buffer.from('{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],'
    + '"usage":{"prompt_tokens":162,"completion_tokens":71,"total_tokens":233,"prompt_tokens_details":{"cached_tokens":64,"audio_tokens":0},'
    + '"completion_tokens_details":{"reasoning_tokens":0}},"service_tier":"default","system_fingerprint":"fp_1"}\n');
  const parse = JSON.parse;
  let calls = 0;
  JSON.parse = ((text: string, reviver?: (k: string, v: unknown) => unknown) => { calls++; return parse(text, reviver); }) as typeof JSON.parse;
  try {
    assert.deepEqual(usageFromJsonBody(body), { input: 162, output: 71, cachedInput: 64, cacheCreation: 0, total: 233 });
  } finally {
    JSON.parse = parse;
  }
  assert.equal(calls, 0);
});
