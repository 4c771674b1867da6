/**
 * `translateStream`: the bytes out do not depend on how the upstream bytes were split (one burst, one frame per read,
 * one byte per read), a large read is emitted in several pieces, an upstream failure fails the output, and
 * destroying the output destroys the upstream body.
 */
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { test } from 'node:test';
import { PROTOCOLS } from '../../src/protocols/index.js';
import { translateStream } from '../../src/providers/stream.js';
import { anthropicStreamFrames } from '../fixtures/providers/anthropic.js';

const frames = anthropicStreamFrames([
  { type: 'text', text: 'x'.repeat(3000) },
  { type: 'tool_use', id: 'toolu_9', name: 'f', input: { a: 1, b: 'two' } },
], { usage: { input_tokens: 3, output_tokens: 4 } });

async function run(chunks: Buffer[]): Promise<{ text: string; pieces: number }> {
  const out = translateStream(
    Readable.from(chunks, { objectMode: false }),
    PROTOCOLS.anthropic.createStreamDecoder(),
    PROTOCOLS.openai.createStreamEncoder({ id: 'chatcmpl-t', model: 'm', created: 1, includeUsage: true }),
  );
  let text = '';
  let pieces = 0;
  out.on('data', (c: Buffer) => {
    text += c.toString('utf8');
    pieces++;
  });
  await new Promise<void>((resolve, reject) => { out.once('end', resolve); out.once('error', reject); });
  return { text, pieces };
}

test('output is independent of upstream chunking; a large burst is emitted in several pieces', async () => {
  const all = Buffer.from(frames.join(''));
  const perFrame = await run(frames.map((f) => Buffer.from(f)));
  const burst = await run([all]);
  const bytes = await run([...all].map((b) => Buffer.from([b])));
  assert.equal(burst.text, perFrame.text);
  assert.equal(bytes.text, perFrame.text);
  assert.ok(burst.pieces > 1, 'a burst must not be translated as one block');
  const events = perFrame.text.split('\n\n').filter((f) => f !== '');
  assert.equal(events[events.length - 1], 'data: [DONE]');
  const last = JSON.parse((events[events.length - 2] ?? '').slice(6)) as { usage?: { total_tokens: number } };
  assert.equal(last.usage?.total_tokens, 7);
});

test('an upstream failure fails the output; destroying the output destroys the upstream', async () => {
  const src = new PassThrough();
  const out = translateStream(src, PROTOCOLS.anthropic.createStreamDecoder(), PROTOCOLS.openai.createStreamEncoder({ id: 'x', model: 'm', created: 1 }));
  const failed = new Promise<unknown>((resolve) => out.once('error', resolve));
  out.resume();
  src.write(frames[0]);
  src.destroy(new Error('socket reset'));
  assert.match(String(await failed), /socket reset/);

  const src2 = new PassThrough();
  const out2 = translateStream(src2, PROTOCOLS.anthropic.createStreamDecoder(), PROTOCOLS.openai.createStreamEncoder({ id: 'x', model: 'm', created: 1 }));
  const closed = new Promise<void>((resolve) => src2.once('close', () => resolve()));
  out2.on('error', () => undefined);
  out2.destroy();
  await closed;
  assert.equal(src2.destroyed, true);
});
