import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JsonUsageTap, SseUsageTap } from '../../src/usage/sse-tap.js';
import { usageFromJsonBody, usageFromObject } from '../../src/usage/extract.js';

const chunk = (content: string): string => JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content } }], usage: null });
const usageOnly = JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18, prompt_tokens_details: { cached_tokens: 4 } } });

function stream(eol: string): string {
  return [chunk('Hel'), chunk('lo'), usageOnly].map((d) => `data: ${d}${eol}${eol}`).join('') + `data: [DONE]${eol}${eol}`;
}

/** Feed `text` split at the given byte offsets; returns what the client would receive. */
function feed(tap: SseUsageTap, bytes: Buffer, cuts: number[]): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    const part = bytes.subarray(at, c);
    at = c;
    const r = tap.onChunk(part);
    out.push(r === undefined ? part : r);
  }
  const held = tap.onEnd();
  if (held) out.push(held);
  return Buffer.concat(out);
}

for (const [name, eol] of [['LF', '\n'], ['CRLF', '\r\n'], ['CR', '\r']] as const) {
  test(`usage tap (${name}): every single split point reads the last usage and relays bytes unchanged`, () => {
    const bytes = Buffer.from(stream(eol));
    for (let i = 0; i <= bytes.length; i++) {
      const tap = new SseUsageTap();
      const out = feed(tap, bytes, [i]);
      assert.ok(out.equals(bytes), `split at ${i}`);
      assert.deepEqual(tap.usage, { input: 11, output: 7, total: 18, cachedInput: 4, cacheCreation: 0 }, `split at ${i}`);
    }
  });

  test(`usage filter (${name}): the usage-only chunk is removed at every split point, nothing else changes`, () => {
    const bytes = Buffer.from(stream(eol));
    const expected = Buffer.from([chunk('Hel'), chunk('lo')].map((d) => `data: ${d}${eol}${eol}`).join('') + `data: [DONE]${eol}${eol}`);
    for (let i = 0; i <= bytes.length; i++) {
      for (const j of [i, Math.min(bytes.length, i + 1), Math.min(bytes.length, i + 7)]) {
        const tap = new SseUsageTap({ dropUsageOnly: true });
        const out = feed(tap, bytes, i === j ? [i] : [i, j]);
        // A CR-terminated stream split between the two CRs of a boundary may keep one stray line end:
        // compare after collapsing runs of line ends (what an SSE parser sees is identical).
        const norm = (b: Buffer): string => b.toString('utf8').replace(/[\r\n]+/g, '|');
        assert.equal(norm(out), norm(expected), `split at ${i},${j}`);
        assert.equal(tap.dropped, 1);
        assert.equal(tap.usage?.total, 18);
      }
    }
  });
}

test('usage filter: byte-at-a-time feeding and a final event without its blank line', () => {
  const bytes = Buffer.from(`data: ${chunk('a')}\n\ndata: ${usageOnly}\n\ndata: [DONE]`);
  const tap = new SseUsageTap({ dropUsageOnly: true });
  const out = feed(tap, bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1));
  assert.equal(out.toString(), `data: ${chunk('a')}\n\ndata: [DONE]`);
  assert.equal(tap.usage?.input, 11);
});

test('usage filter keeps a chunk that carries both choices and usage', () => {
  const both = JSON.stringify({ choices: [{ index: 0, delta: { content: 'x' } }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
  const bytes = Buffer.from(`data: ${both}\n\n`);
  const tap = new SseUsageTap({ dropUsageOnly: true });
  assert.equal(feed(tap, bytes, []).toString(), bytes.toString());
  assert.equal(tap.usage?.total, 2);
});

test('multi-line data and Responses API completed events are read', () => {
  const ev = `event: response.completed\ndata: {"type":"response.completed","response":{"usage":\ndata: {"input_tokens":9,"output_tokens":3,"total_tokens":12,"input_tokens_details":{"cached_tokens":2}}}}\n\n`;
  const tap = new SseUsageTap();
  feed(tap, Buffer.from(ev), [40]);
  assert.deepEqual(tap.usage, { input: 9, output: 3, total: 12, cachedInput: 2, cacheCreation: 0 });
});

test('usage extraction: aliases, totals, cache fields, junk', () => {
  assert.deepEqual(usageFromObject({ prompt_tokens: 3, completion_tokens: 4 }), { input: 3, output: 4, total: 7, cachedInput: 0, cacheCreation: 0 });
  assert.deepEqual(usageFromObject({ input_tokens: 10, output_tokens: 2, cache_read_input_tokens: 5, cache_creation_input_tokens: 3 }),
    { input: 10, output: 2, total: 12, cachedInput: 5, cacheCreation: 3 });
  assert.equal(usageFromObject(null), undefined);
  assert.equal(usageFromObject({ foo: 1 }), undefined);
  assert.equal(usageFromObject({ prompt_tokens: -1 }), undefined);
  assert.equal(usageFromJsonBody(Buffer.from('{"usage":')), undefined);
  assert.equal(usageFromJsonBody(Buffer.from('{"usage":{"total_tokens":5}}'))?.total, 5);
});

test('JSON tap: reads usage within the cap, gives up past it', () => {
  const body = Buffer.from(JSON.stringify({ usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 } }));
  const t = new JsonUsageTap(1000);
  t.onChunk(body.subarray(0, 10));
  t.onChunk(body.subarray(10));
  assert.equal(t.usage()?.total, 5);
  const small = new JsonUsageTap(10);
  small.onChunk(body);
  assert.equal(small.usage(), undefined);
});
