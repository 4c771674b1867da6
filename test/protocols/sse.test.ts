// The shared byte-level SSE decoder/encoder: line ends, BOM, comments, multi-line data, names, limits, splits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DONE_FRAME, SseDecoder, SseError, encodeSse, encodeSseJson, type SseEvent } from '../../src/protocols/sse.js';

const enc = new TextEncoder();

function decodeAll(chunks: Uint8Array[], max?: number): SseEvent[] {
  const d = new SseDecoder(max === undefined ? {} : { maxEventBytes: max });
  const out: SseEvent[] = [];
  for (const c of chunks) out.push(...d.push(c));
  out.push(...d.end());
  return out;
}

/** Every way of cutting `bytes` into two pieces, plus one byte at a time. */
function* splits(bytes: Uint8Array): Generator<Uint8Array[]> {
  for (let i = 0; i <= bytes.length; i++) yield [bytes.subarray(0, i), bytes.subarray(i)];
  yield Array.from(bytes, (_b, i) => bytes.subarray(i, i + 1));
}

const SAMPLE = 'event: greeting\ndata: héllo ✓\n\n: a comment\ndata: line one\ndata: line two\nid: 7\n\ndata: {"x":1}\n\n';
const EXPECTED: SseEvent[] = [
  { event: 'greeting', data: 'héllo ✓' },
  { event: 'message', data: 'line one\nline two', id: '7' },
  // The last event id persists across events (WHATWG "last event ID buffer").
  { event: 'message', data: '{"x":1}', id: '7' },
];

test('decodes events, comments, multi-line data and ids', () => {
  assert.deepEqual(decodeAll([enc.encode(SAMPLE)]), EXPECTED);
});

test('LF, CRLF and CR line ends decode the same, split at every byte (multi-byte characters included)', () => {
  for (const eol of ['\n', '\r\n', '\r']) {
    const bytes = enc.encode(SAMPLE.replaceAll('\n', eol));
    for (const chunks of splits(bytes)) assert.deepEqual(decodeAll(chunks), EXPECTED, `eol ${JSON.stringify(eol)}`);
  }
});

test('a leading UTF-8 BOM is skipped, even when split, and only at the start', () => {
  const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...enc.encode(SAMPLE)]);
  for (const chunks of splits(bytes)) assert.deepEqual(decodeAll(chunks), EXPECTED);
  const later = decodeAll([enc.encode('data: a\n\n'), new Uint8Array([0xef, 0xbb, 0xbf]), enc.encode('data: b\n\n')]);
  assert.deepEqual(later.map((e) => e.data), ['a']);
});

test('field parsing: no space after the colon, a bare field name, unknown fields and retry are handled per spec', () => {
  const evs = decodeAll([enc.encode('data:x\nretry: 100\nfoo: bar\ndata\n\nevent:only-name\n\n')]);
  assert.deepEqual(evs, [{ event: 'message', data: 'x\n' }]);
});

test('blank lines without data dispatch nothing; the event name resets after each event', () => {
  const evs = decodeAll([enc.encode('\n\nevent: a\n\ndata: 1\n\n')]);
  assert.deepEqual(evs, [{ event: 'message', data: '1' }]);
});

test('a final event without its blank line is still delivered at end of input', () => {
  assert.deepEqual(decodeAll([enc.encode('data: [DONE]')]), [{ event: 'message', data: '[DONE]' }]);
  assert.deepEqual(decodeAll([enc.encode('data: a\r')]), [{ event: 'message', data: 'a' }]);
});

test('an event larger than maxEventBytes throws SseError, whether it arrives whole or in pieces', () => {
  const big = `data: ${'x'.repeat(200)}\n\n`;
  assert.throws(() => decodeAll([enc.encode(big)], 100), SseError);
  const d = new SseDecoder({ maxEventBytes: 100 });
  assert.throws(() => {
    for (let i = 0; i < big.length; i += 10) d.push(enc.encode(big.slice(i, i + 10)));
  }, SseError);
  assert.deepEqual(decodeAll([enc.encode(big)], 1000).length, 1);
});

test('the decoder copies what it keeps: reusing the caller buffer does not corrupt the next event', () => {
  const d = new SseDecoder();
  const buf = enc.encode('data: abc');
  assert.deepEqual(d.push(buf), []);
  buf.fill(0x7a);
  assert.deepEqual(d.push(enc.encode('def\n\n')), [{ event: 'message', data: 'abcdef' }]);
});

test('encoder frames data (multi-line split into data lines), names, JSON and [DONE]; rejects a line break in a name', () => {
  assert.equal(encodeSse('a\nb', 'x'), 'event: x\ndata: a\ndata: b\n\n');
  assert.equal(encodeSse('plain'), 'data: plain\n\n');
  assert.equal(encodeSseJson({ a: 'x\ny' }, 'ev'), 'event: ev\ndata: {"a":"x\\ny"}\n\n');
  assert.equal(DONE_FRAME, 'data: [DONE]\n\n');
  assert.throws(() => encodeSse('x', 'bad\nname'), SseError);
  const round = decodeAll([enc.encode(encodeSse('1\r\n2\r3', 'n') + encodeSseJson([1]))]);
  assert.deepEqual(round, [{ event: 'n', data: '1\n2\n3' }, { event: 'message', data: '[1]' }]);
});
