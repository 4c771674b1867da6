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
