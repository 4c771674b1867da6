// Recorded provider streams (`<case>.<protocol>.chunks.txt`, raw SSE bytes as the provider sends them) are decoded to
// IR events and re-encoded for every client protocol. Goldens: `<case>.ir.json`, `<case>.to-<protocol>.txt`.
// Every stream is re-fed split at every byte boundary, byte by byte, with CRLF / CR line ends and with a BOM, and must
// decode to the same IR and encode to the same bytes. Encoded output must follow the client protocol's wire schema and
// decode back (with that protocol's own decoder) to the same text, reasoning, tool calls, usage and ending.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOLS, type IrStreamEvent, type ProtocolId } from '../../src/protocols/index.js';
import { StreamEvent as AnthropicEvent } from '../../src/protocols/anthropic/wire.js';
import { ErrorBody as GeminiError, GenerateResponse } from '../../src/protocols/gemini/wire.js';
import { ChatChunk, ErrorBody as OpenAiError } from '../../src/protocols/openai/wire.js';
import { SseDecoder } from '../../src/protocols/sse.js';
import { ENCODE_CTX, goldenJson, goldenText, listFixtures, PROTOCOL_IDS, readFixtureBytes } from './golden.js';

const DIR = 'streams/';
const enc = new TextEncoder();
const dec = new TextDecoder();
const cases = listFixtures(DIR).filter((f) => f.endsWith('.chunks.txt')).map((f) => {
  const [name, protocol] = f.slice(0, -'.chunks.txt'.length).split('.') as [string, ProtocolId];
  return { name, protocol, file: f };
});

function decode(protocol: ProtocolId, chunks: Iterable<Uint8Array>): IrStreamEvent[] {
  const d = PROTOCOLS[protocol].createStreamDecoder({ toolCallIdPrefix: 'call_gw_' });
  const out: IrStreamEvent[] = [];
  for (const c of chunks) out.push(...d.push(c));
  out.push(...d.end());
  return out;
}

function encode(protocol: ProtocolId, events: IrStreamEvent[]): string {
  const e = PROTOCOLS[protocol].createStreamEncoder({ ...ENCODE_CTX, includeUsage: true });
  let s = '';
  for (const ev of events) s += e.push(ev).join('');
  return s + e.end().join('');
}

/** What a client must see whatever the protocol: text, reasoning, tool calls, usage totals, how it ended. */
function summary(events: IrStreamEvent[]): unknown {
  let text = '';
  let thinking = '';
  const calls = new Map<number, { id: string; name: string; args: string }>();
  let usage: unknown;
  let end: { finish: string } | { error: string } | undefined;
  for (const ev of events) {
    switch (ev.type) {
      case 'text_delta': text += ev.text; break;
      case 'thinking_delta': thinking += ev.text; break;
      case 'tool_call_start': calls.set(ev.index, { id: ev.id, name: ev.name, args: '' }); break;
      case 'tool_call_delta': {
        const c = calls.get(ev.index);
        if (c) c.args += ev.argumentsDelta;
        break;
      }
      case 'usage': {
        const i = ev.usage.inputTokens;
        const o = ev.usage.outputTokens;
        usage = { input: i.total ?? (i.noCache ?? 0) + (i.cacheRead ?? 0) + (i.cacheWrite ?? 0), cacheRead: i.cacheRead ?? 0, output: o.total };
        break;
      }
      case 'finish': end = { finish: ev.finish.reason }; break;
      case 'error': end = { error: ev.error.message }; break;
      default:
    }
  }
  const toolCalls = [...calls.values()].map((c) => ({ ...c, args: JSON.parse(c.args) as unknown }));
  // Usage is only promised on a completed stream (an OpenAI stream carries it in its last chunk).
  return { text, thinking, toolCalls, usage: end !== undefined && 'finish' in end ? usage : undefined, end };
}

/** Checks every frame of an encoded stream against the client protocol's wire schema. */
function assertWireShape(protocol: ProtocolId, text: string, label: string): void {
  const d = new SseDecoder();
  const events = [...d.push(enc.encode(text)), ...d.end()];
  assert.ok(events.length > 0, `${label}: no frames`);
  for (const ev of events) {
    const data = ev.data === '[DONE]' ? '[DONE]' : JSON.parse(ev.data) as unknown;
    switch (protocol) {
      case 'openai':
        if (data === '[DONE]') {
          assert.equal(ev, events[events.length - 1], `${label}: [DONE] must be last`);
          break;
        }
        assert.ok(ChatChunk.safeParse(data).success || OpenAiError.safeParse(data).success, `${label}: bad chunk ${ev.data}`);
        break;
      case 'anthropic':
        assert.ok(AnthropicEvent.safeParse(data).success, `${label}: bad event ${ev.data}`);
        assert.equal(ev.event, (data as { type: string }).type, `${label}: event name must equal data.type`);
        break;
      case 'gemini':
        assert.equal(ev.event, 'message', `${label}: gemini frames carry no event name`);
        assert.ok(GenerateResponse.safeParse(data).success || GeminiError.safeParse(data).success, `${label}: bad chunk ${ev.data}`);
        assert.notEqual(ev.data, '[DONE]');
        break;
    }
  }
}

test('stream fixtures exist for every upstream protocol, with a tool call, an error and a truncation among them', () => {
  for (const p of PROTOCOL_IDS) assert.ok(cases.some((c) => c.protocol === p), `no ${p} stream fixture`);
  const all = cases.map((c) => decode(c.protocol, [readFixtureBytes(DIR + c.file)]));
  assert.ok(all.some((evs) => evs.filter((e) => e.type === 'tool_call_start').length >= 2), 'a parallel tool-call stream');
  assert.ok(all.some((evs) => evs.some((e) => e.type === 'thinking_signature')), 'a thinking stream with a signature');
  assert.ok(all.filter((evs) => evs.some((e) => e.type === 'error')).length >= 3, 'error streams');
  for (const f of listFixtures(DIR)) {
    if (f.startsWith('.')) continue;
    const name = f.replace(/\.(\w+\.chunks\.txt|ir\.json|to-\w+\.txt)$/, '');
    assert.ok(cases.some((c) => c.name === name), `stale ${f}`);
  }
});

for (const c of cases) {
  test(`stream ${c.name} (${c.protocol}): decode at every byte split and re-encode for every client`, () => {
    const bytes = readFixtureBytes(DIR + c.file);
    const events = decode(c.protocol, [bytes]);
    goldenJson(`${DIR}${c.name}.ir.json`, events);
    const encoded: Record<string, string> = {};
    for (const target of PROTOCOL_IDS) {
      encoded[target] = encode(target, events);
      goldenText(`${DIR}${c.name}.to-${target}.txt`, encoded[target]);
      assertWireShape(target, encoded[target], `${c.name} → ${target}`);
      assert.deepEqual(summary(decode(target, [enc.encode(encoded[target])])), summary(events), `${c.name} → ${target} → IR`);
    }

    for (let i = 0; i <= bytes.length; i++) {
      const split = decode(c.protocol, [bytes.subarray(0, i), bytes.subarray(i)]);
      assert.deepEqual(split, events, `split at byte ${i}`);
      for (const target of PROTOCOL_IDS) assert.equal(encode(target, split), encoded[target], `split at byte ${i} → ${target}`);
    }
    assert.deepEqual(decode(c.protocol, Array.from(bytes, (_b, i) => bytes.subarray(i, i + 1))), events, 'byte by byte');

    const lf = dec.decode(bytes).replaceAll('\r\n', '\n');
    for (const eol of ['\n', '\r\n', '\r']) assert.deepEqual(decode(c.protocol, [enc.encode(lf.replaceAll('\n', eol))]), events, `eol ${JSON.stringify(eol)}`);
    assert.deepEqual(decode(c.protocol, [new Uint8Array([0xef, 0xbb, 0xbf]), bytes]), events, 'with a BOM');
  });
}

test('decoders ignore input after the terminal event and end with exactly one terminal event', () => {
  for (const c of cases) {
    const bytes = readFixtureBytes(DIR + c.file);
    const d = PROTOCOLS[c.protocol].createStreamDecoder();
    const first = d.push(bytes);
    if (first.some((e) => e.type === 'finish' || e.type === 'error')) assert.deepEqual(d.push(bytes), [], `${c.name}: nothing after the end`);
    const all = [...first, ...d.end()];
    assert.equal(all.filter((e) => e.type === 'finish' || e.type === 'error').length, 1, c.name);
    const last = all[all.length - 1];
    assert.ok(last?.type === 'finish' || last?.type === 'error', `${c.name}: terminal event last`);
    assert.equal(all[0]?.type, 'start', `${c.name}: start first`);
  }
});

test('a stream that is not SSE JSON, or an oversized event, becomes an error event, not an exception', () => {
  for (const p of PROTOCOL_IDS) {
    const bad = decode(p, [enc.encode('data: {not json\n\n')]);
    assert.equal(bad.at(-1)?.type, 'error', p);
    const d = PROTOCOLS[p].createStreamDecoder({ maxEventBytes: 64 });
    const big = d.push(enc.encode(`data: ${JSON.stringify({ x: 'y'.repeat(200) })}\n\n`));
    assert.equal(big.at(-1)?.type, 'error', `${p} oversize`);
    assert.equal(decode(p, []).at(-1)?.type, 'error', `${p} empty body`);
  }
});

test('the OpenAI encoder emits the usage chunk only when the client asked for it; [DONE] either way', () => {
  const events = decode('anthropic', [readFixtureBytes(`${DIR}anthropic-thinking-tools.anthropic.chunks.txt`)]);
  const withUsage = encode('openai', events);
  const e = PROTOCOLS.openai.createStreamEncoder({ ...ENCODE_CTX, includeUsage: false });
  const without = events.map((ev) => e.push(ev).join('')).join('') + e.end().join('');
  assert.match(withUsage, /"choices":\[\],"usage":\{"prompt_tokens":2648,"completion_tokens":168,"total_tokens":2816,"prompt_tokens_details":\{"cached_tokens":2048\},"cache_creation_input_tokens":128\}/);
  assert.doesNotMatch(without, /"usage"/);
  assert.ok(without.endsWith('data: [DONE]\n\n') && withUsage.endsWith('data: [DONE]\n\n'));
});

test('openai decoder: tool calls without an index (some compatible servers) are told apart by id', () => {
  const chunk = (delta: unknown, finish: string | null = null): string =>
    `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const body = chunk({ tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{"x":' } }] })
    + chunk({ tool_calls: [{ function: { arguments: '1}' } }] })
    + chunk({ tool_calls: [{ id: 'b', type: 'function', function: { name: 'g', arguments: '{}' } }] })
    + chunk({}, 'tool_calls') + 'data: [DONE]\n\n';
  const events = decode('openai', [enc.encode(body)]);
  assert.deepEqual(summary(events), {
    text: '', thinking: '', end: { finish: 'tool_calls' }, usage: undefined,
    toolCalls: [{ id: 'a', name: 'f', args: { x: 1 } }, { id: 'b', name: 'g', args: {} }],
  });
});
