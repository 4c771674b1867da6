/**
 * Unit tests for the client-surface helpers: Gemini path and key parsing, the `/v1/responses` → chat mapping, and the
 * incremental OpenAI → client stream conversion (byte-split invariance, end of stream, upstream failure, destroy).
 */
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { test } from 'node:test';
import { PROTOCOLS } from '../../src/protocols/index.js';
import { convertFromOpenAi, convertStream } from '../../src/surfaces/convert.js';
import { geminiToken, parseGeminiPath } from '../../src/surfaces/gemini.js';
import { responsesToChat } from '../../src/surfaces/responses-shim.js';
import { chunk, usageChunk } from './kit.js';

const OPENAI_STREAM = [
  chunk({ role: 'assistant', content: '' }), chunk({ content: 'Héllo ' }), chunk({ content: 'wörld' }),
  chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }),
  chunk({}, 'tool_calls'), usageChunk(7, 5),
].map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + 'data: [DONE]\n\n';

async function collect(r: Readable): Promise<string> {
  let out = '';
  for await (const c of r) out += Buffer.isBuffer(c) ? c.toString('utf8') : String(c);
  return out;
}

function convert(parts: Buffer[], target: 'anthropic' | 'gemini'): Promise<string> {
  const enc = PROTOCOLS[target].createStreamEncoder({ id: 'id-1', model: 'm', created: 1 });
  return collect(convertStream(Readable.from(parts), PROTOCOLS.openai.createStreamDecoder(), enc, {}));
}

test('parseGeminiPath: public and internal methods, models/ prefix, percent-encoding, anything else undefined', () => {
  assert.deepEqual(parseGeminiPath('/v1beta/models/gemini-2.5-flash:generateContent'), { model: 'gemini-2.5-flash', stream: false, internal: false });
  assert.deepEqual(parseGeminiPath('/v1beta/models/models%2Fgemini-pro:streamGenerateContent'), { model: 'gemini-pro', stream: true, internal: false });
  assert.deepEqual(parseGeminiPath('/v1beta/models/a%3Ab:generateContent'), { model: 'a:b', stream: false, internal: false });
  assert.deepEqual(parseGeminiPath('/v1internal:streamGenerateContent'), { model: undefined, stream: true, internal: true });
  for (const p of ['/v1beta/models/x:embedContent', '/v1beta/models/:generateContent', '/v1beta/models/a/b:generateContent', '/v1beta/x:generateContent', '/v1internal:countTokens', '/v1beta/models/%zz:generateContent']) {
    assert.equal(parseGeminiPath(p), undefined, p);
  }
});

test('geminiToken: x-ditto-virtual-key, x-goog-api-key, ?key=, x-litellm-api-key, Authorization: Bearer; blanks skipped', () => {
  assert.equal(geminiToken({ 'x-ditto-virtual-key': 'a', 'x-goog-api-key': 'b' }, '?key=c'), 'a');
  assert.equal(geminiToken({ 'x-ditto-virtual-key': '  ', 'x-goog-api-key': 'b' }, '?key=c'), 'b');
  assert.equal(geminiToken({ authorization: 'Bearer d' }, '?alt=sse&key=c'), 'c');
  assert.equal(geminiToken({ 'x-litellm-api-key': 'Bearer e', authorization: 'Bearer d' }, '?key='), 'e');
  assert.equal(geminiToken({ 'x-litellm-api-key': 'e2' }, ''), 'e2');
  assert.equal(geminiToken({ authorization: 'bearer d' }, ''), 'd');
  assert.equal(geminiToken({ authorization: 'Basic xyz' }, ''), undefined);
  assert.equal(geminiToken({}, '?alt=sse'), undefined);
});

test('responsesToChat: instructions, string and item input, text.format, stream usage; refusals', () => {
  assert.deepEqual(responsesToChat({
    model: 'm', instructions: 'sys', input: 'hi', stream: true, stream_options: { include_obfuscation: false }, max_output_tokens: 9,
    text: { format: { type: 'json_schema', name: 'r', schema: { type: 'object' }, strict: true } }, top_p: 0.5, service_tier: 'flex', metadata: { a: 'b' },
  }), {
    model: 'm', top_p: 0.5, service_tier: 'flex', max_tokens: 9,
    response_format: { type: 'json_schema', json_schema: { name: 'r', schema: { type: 'object' }, strict: true } },
    messages: [{ role: 'system', content: 'sys' }, { role: 'user', content: 'hi' }],
    stream: true, stream_options: { include_obfuscation: false, include_usage: true },
  });
  assert.deepEqual(responsesToChat({ model: 'm', input: ['a', { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'b' }] }] })['messages'], [
    { role: 'user', content: 'a' }, { role: 'developer', content: [{ type: 'text', text: 'b' }] },
  ]);
  assert.deepEqual(responsesToChat({ model: 'm', messages: [{ role: 'user', content: 'legacy' }] })['messages'], [{ role: 'user', content: 'legacy' }]);
  assert.deepEqual(
    responsesToChat({ model: 'm', input: [{ role: 'user', content: [{ type: 'input_file', file_data: 'data:application/pdf;base64,AA==', filename: 'a.pdf' }] }] })['messages'],
    [{ role: 'user', content: [{ type: 'file', file: { file_data: 'data:application/pdf;base64,AA==', filename: 'a.pdf' } }] }],
  );
  for (const bad of [
    { model: 'm' },
    { model: 'm', input: [{ role: 'user', content: [{ type: 'input_file', file_url: 'https://x' }] }] },
    { model: 'm', input: [{ type: 'reasoning', summary: [] }] },
    { model: 'm', input: [{ role: 'user', content: [{ type: 'input_image' }] }] },
  ]) {
    assert.throws(() => responsesToChat(bad), (e: unknown) => (e as { code?: string }).code === 'invalid_responses_request', JSON.stringify(bad));
  }
});

test('convertStream: the same client bytes whatever the upstream chunking (every byte split, both targets)', async () => {
  const whole = Buffer.from(OPENAI_STREAM);
  for (const target of ['anthropic', 'gemini'] as const) {
    const expected = await convert([whole], target);
    assert.ok(expected.length > 0);
    for (let i = 1; i < whole.length; i++) {
      const got = await convert([whole.subarray(0, i), whole.subarray(i)], target);
      assert.equal(got, expected, `${target}: split at byte ${i}`);
    }
    const bytes = await convert([...whole].map((b) => Buffer.from([b])), target);
    assert.equal(bytes, expected, `${target}: one byte at a time`);
  }
  const anthropic = await convert([whole], 'anthropic');
  assert.match(anthropic, /"text":"Héllo "/);
  assert.match(anthropic, /event: message_stop\n/);
});

test('convertStream: a truncated upstream ends with the client protocol error; a failing one too, and the hook fires once', async () => {
  const cut = OPENAI_STREAM.slice(0, OPENAI_STREAM.indexOf('tool_calls'));
  const truncated = await convert([Buffer.from(cut)], 'anthropic');
  assert.match(truncated, /event: error\n/);

  const up = new PassThrough();
  let failures = 0;
  const enc = PROTOCOLS.gemini.createStreamEncoder({ id: 'x', model: 'm', created: 1 });
  const out = convertStream(up, PROTOCOLS.openai.createStreamDecoder(), enc, { onMidstreamFailure: () => failures++ });
  const done = collect(out);
  up.write(`data: ${JSON.stringify(chunk({ content: 'a' }))}\n\n`);
  up.destroy(new Error('socket hang up'));
  const text = await done;
  assert.equal(failures, 1);
  assert.match(text, /"text":"a"/);
  assert.match(text, /^data: \{"error":\{"code":502/m);
});

test('convertStream: destroying the converted stream (client gone) destroys the upstream body', async () => {
  const up = new PassThrough();
  const out = convertStream(up, PROTOCOLS.openai.createStreamDecoder(), PROTOCOLS.anthropic.createStreamEncoder({ id: 'x', model: 'm', created: 1 }), {});
  up.write(`data: ${JSON.stringify(chunk({ content: 'a' }))}\n\n`);
  out.destroy();
  await new Promise<void>((resolve) => { if (up.destroyed) resolve(); else up.once('close', () => resolve()); });
  assert.equal(up.destroyed, true);
});

test('convertFromOpenAi: /v1internal wrapping applies to JSON and to every stream frame, never to errors', async () => {
  const wrap = (json: string): string => json.startsWith('{"error"') ? json : `{"response":${json}}`;
  const json = await convertFromOpenAi('gemini', {
    status: 200, headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify({ id: 'c1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] })),
  }, { id: 'r', model: 'm', warnings: [], wrap });
  const body = JSON.parse((json.body as Buffer).toString()) as { response: { responseId: string } };
  assert.equal(body.response.responseId, 'c1');
  const sse = await convertFromOpenAi('gemini', { status: 200, headers: { 'content-type': 'text/event-stream' }, body: Readable.from([Buffer.from(OPENAI_STREAM)]) }, { id: 'r', model: 'm', warnings: [], wrap });
  const frames = (await collect(sse.body as Readable)).split('\n\n').filter((f) => f !== '');
  assert.ok(frames.length >= 3);
  for (const f of frames) assert.ok(f.startsWith('data: {"response":{'), f);
  const err = await convertFromOpenAi('gemini', { status: 404, headers: {}, body: Buffer.from('{"error":{"message":"nope","type":"invalid_request_error"}}') }, { id: 'r', model: 'm', warnings: [], wrap });
  assert.equal(err.status, 404);
  assert.deepEqual(JSON.parse((err.body as Buffer).toString()), { error: { code: 404, message: 'nope', status: 'NOT_FOUND' } });
});

test('convertStream: an upstream destroyed quietly (no end, no error) still ends the client stream with an error', async () => {
  const up = new PassThrough();
  const out = convertStream(up, PROTOCOLS.openai.createStreamDecoder(), PROTOCOLS.anthropic.createStreamEncoder({ id: 'x', model: 'm', created: 1 }), {});
  const done = collect(out);
  up.write(`data: ${JSON.stringify(chunk({ content: 'a' }))}\n\n`);
  setImmediate(() => up.destroy());
  const text = await done;
  assert.match(text, /"text":"a"/);
  assert.match(text, /event: error\n/);
});
