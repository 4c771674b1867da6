/**
 * OpenAI `chat.completion.chunk` streams ⇄ IR stream events, incrementally.
 *
 * Hot path: one `JSON.parse` per upstream event and direct property checks (no zod, no regex); the encoder serialises
 * only each chunk's `delta` and splices it between precomputed halves.
 *
 * @see https://platform.openai.com/docs/api-reference/chat/streaming
 */
import {
  streamProtocolError,
  type DecoderOptions, type EncodeContext, type IrFinish, type IrStreamEvent, type IrUsage, type StreamDecoder,
  type StreamEncoder,
} from '../ir.js';
import { DONE_DATA, DONE_FRAME, SseDecoder, decodeSseChunk, type SseEvent } from '../sse.js';
import { isRecord, type JsonObject } from '../util.js';
import { parseUpstreamError, renderError } from './errors.js';
import { mapFinishReasonFromIr, mapFinishReasonToIr } from './finish-reason.js';
import { convertUsageFromIr, convertUsageToIr } from './usage.js';

/** Per-tool-call decoder state, keyed by OpenAI's `index`. */
interface ToolState {
  irIndex: number;
  id: string | undefined;
  name: string | undefined;
  /** Argument text received before the call's id and name were known. */
  pendingArgs: string;
  started: boolean;
}

/** Decoder state. */
interface DecoderState {
  started: boolean;
  done: boolean;
  tools: Map<number, ToolState>;
  nextTool: number;
  /** `finish_reason` seen; held back until the usage chunk (or `[DONE]`) so `usage` precedes `finish`. */
  finish: IrFinish | undefined;
  usage: IrUsage | undefined;
}

/** Creates an OpenAI stream decoder: SSE bytes in, IR events out. */
export function createDecoder(options: DecoderOptions = {}): StreamDecoder {
  const sse = new SseDecoder(options.maxEventBytes === undefined ? {} : { maxEventBytes: options.maxEventBytes });
  const prefix = options.toolCallIdPrefix ?? 'call_';
  const s: DecoderState = { started: false, done: false, tools: new Map(), nextTool: 0, finish: undefined, usage: undefined };

  function fail(out: IrStreamEvent[], message: string): void {
    out.push({ type: 'error', error: streamProtocolError(message) });
    s.done = true;
  }

  function flush(out: IrStreamEvent[]): void {
    const open = [...s.tools.values()].filter((t) => t.started).sort((a, b) => a.irIndex - b.irIndex);
    for (const t of open) out.push({ type: 'tool_call_end', index: t.irIndex });
    if (s.usage) out.push({ type: 'usage', usage: s.usage });
    out.push({ type: 'finish', finish: s.finish ?? { reason: 'stop' } });
    s.done = true;
  }

  /** The state for a `tool_calls` delta: by `index`; without one (some compatible servers), by id, else the latest. */
  function toolFor(d: JsonObject): ToolState {
    const id = typeof d['id'] === 'string' && d['id'] !== '' ? d['id'] : undefined;
    let key: number;
    if (typeof d['index'] === 'number') key = d['index'];
    else if (id !== undefined) key = [...s.tools].find(([, t]) => t.id === id)?.[0] ?? -1 - s.tools.size;
    else key = [...s.tools.keys()].pop() ?? 0;
    let t = s.tools.get(key);
    if (!t) {
      t = { irIndex: s.nextTool++, id: undefined, name: undefined, pendingArgs: '', started: false };
      s.tools.set(key, t);
    }
    if (id !== undefined) t.id ??= id;
    return t;
  }

  function toolDelta(out: IrStreamEvent[], d: JsonObject): void {
    const t = toolFor(d);
    const fn = d['function'];
    let args = '';
    if (isRecord(fn)) {
      if (typeof fn['name'] === 'string' && fn['name'] !== '') t.name ??= fn['name'];
      if (typeof fn['arguments'] === 'string') args = fn['arguments'];
    }
    if (!t.started) {
      if (t.name === undefined) {
        t.pendingArgs += args;
        return;
      }
      t.started = true;
      const start: IrStreamEvent = { type: 'tool_call_start', index: t.irIndex, id: t.id ?? `${prefix}${t.irIndex}`, name: t.name };
      const ex = d['extra_content'];
      const sig = isRecord(ex) && isRecord(ex['google']) ? ex['google']['thought_signature'] : undefined;
      if (typeof sig === 'string') start.signature = sig;
      out.push(start);
      args = t.pendingArgs + args;
      t.pendingArgs = '';
    }
    if (args !== '') out.push({ type: 'tool_call_delta', index: t.irIndex, argumentsDelta: args });
  }

  function onEvent(ev: SseEvent, out: IrStreamEvent[]): void {
    if (s.done) return;
    if (ev.data === DONE_DATA) {
      if (!s.started) out.push({ type: 'start' });
      s.started = true;
      flush(out);
      return;
    }
    let chunk: unknown;
    try {
      chunk = JSON.parse(ev.data);
    } catch {
      fail(out, 'upstream sent a stream event that is not JSON');
      return;
    }
    if (!isRecord(chunk)) return fail(out, 'upstream sent a stream event that is not a JSON object');
    if (ev.event === 'error' || chunk['error'] !== undefined) {
      out.push({ type: 'error', error: parseUpstreamError(0, chunk) });
      s.done = true;
      return;
    }
    if (!s.started) {
      s.started = true;
      const start: IrStreamEvent = { type: 'start' };
      if (typeof chunk['id'] === 'string') start.id = chunk['id'];
      if (typeof chunk['model'] === 'string') start.model = chunk['model'];
      if (typeof chunk['created'] === 'number') start.created = chunk['created'];
      out.push(start);
    }
    const choices = chunk['choices'];
    const choice = Array.isArray(choices) ? choices[0] as unknown : undefined;
    if (isRecord(choice) && s.finish === undefined) {
      const delta = choice['delta'];
      if (isRecord(delta)) {
        const reasoning = delta['reasoning_content'] ?? delta['reasoning'];
        if (typeof reasoning === 'string' && reasoning !== '') out.push({ type: 'thinking_delta', text: reasoning });
        const content = delta['content'];
        if (typeof content === 'string' && content !== '') out.push({ type: 'text_delta', text: content });
        const refusal = delta['refusal'];
        if (typeof refusal === 'string' && refusal !== '') out.push({ type: 'text_delta', text: refusal });
        const tcs = delta['tool_calls'];
        if (Array.isArray(tcs)) for (const tc of tcs) if (isRecord(tc)) toolDelta(out, tc);
      }
      const fr = choice['finish_reason'];
      if (typeof fr === 'string') s.finish = mapFinishReasonToIr(fr);
    }
    const usage = chunk['usage'];
    if (isRecord(usage)) s.usage = convertUsageToIr(usage);
    // The usage chunk comes after the finish chunk; once both are in, the stream is complete.
    if (s.finish !== undefined && s.usage !== undefined) flush(out);
  }

  return {
    push(chunk) {
      return s.done ? [] : decodeSseChunk(sse, chunk, onEvent, fail);
    },
    end() {
      const out: IrStreamEvent[] = [];
      if (!s.done) for (const ev of sse.end()) onEvent(ev, out);
      if (s.done) return out;
      if (s.finish !== undefined) flush(out);
      else fail(out, 'upstream stream ended before the response was complete');
      return out;
    },
  };
}

/** Options for {@link createEncoder}. */
export interface EncoderOptions extends EncodeContext {
  /** Emit the final usage-only chunk (`stream_options.include_usage`). */
  includeUsage: boolean;
}

/** Encoder state. */
interface EncoderState {
  id: string;
  model: string;
  created: number;
  /** `data: {"id":…,"choices":[{"index":0,"delta":` — computed once, at start. */
  head: string;
  started: boolean;
  done: boolean;
  usage: IrUsage | undefined;
}

const TAIL = ',"logprobs":null,"finish_reason":null}]}\n\n';

/** Creates an OpenAI stream encoder: IR events in, `chat.completion.chunk` SSE frames out (ending `[DONE]`). */
export function createEncoder(options: EncoderOptions): StreamEncoder {
  const s: EncoderState = {
    id: options.id, model: options.model, created: options.created, head: '', started: false, done: false, usage: undefined,
  };

  function base(): JsonObject {
    return { id: s.id, object: 'chat.completion.chunk', created: s.created, model: s.model };
  }

  function start(out: string[], ev?: Extract<IrStreamEvent, { type: 'start' }>): void {
    if (ev?.id !== undefined) s.id = ev.id;
    if (ev?.model !== undefined) s.model = ev.model;
    if (ev?.created !== undefined) s.created = ev.created;
    // Everything up to the delta object, so each later chunk only serialises its delta.
    s.head = `data: {"id":${JSON.stringify(s.id)},"object":"chat.completion.chunk","created":${s.created},`
      + `"model":${JSON.stringify(s.model)},"choices":[{"index":0,"delta":`;
    s.started = true;
    out.push(`${s.head}{"role":"assistant","content":""}${TAIL}`);
  }

  function delta(out: string[], d: JsonObject): void {
    out.push(`${s.head}${JSON.stringify(d)}${TAIL}`);
  }

  return {
    push(ev) {
      const out: string[] = [];
      if (s.done) return out;
      if (!s.started) {
        if (ev.type === 'start') {
          start(out, ev);
          return out;
        }
        if (ev.type !== 'usage') start(out);
      }
      switch (ev.type) {
        case 'start':
        case 'thinking_signature':
        case 'redacted_thinking':
        case 'tool_call_end':
          break;
        case 'text_delta':
          delta(out, { content: ev.text });
          break;
        case 'thinking_delta':
          delta(out, { reasoning_content: ev.text });
          break;
        case 'tool_call_start': {
          const tc: JsonObject = { index: ev.index, id: ev.id, type: 'function', function: { name: ev.name, arguments: '' } };
          if (ev.signature !== undefined) tc['extra_content'] = { google: { thought_signature: ev.signature } };
          delta(out, { tool_calls: [tc] });
          break;
        }
        case 'tool_call_delta':
          delta(out, { tool_calls: [{ index: ev.index, function: { arguments: ev.argumentsDelta } }] });
          break;
        case 'usage':
          s.usage = ev.usage;
          break;
        case 'finish':
          out.push(`${s.head}{},"logprobs":null,"finish_reason":${JSON.stringify(mapFinishReasonFromIr(ev.finish))}}]}\n\n`);
          if (options.includeUsage && s.usage) {
            out.push(`data: ${JSON.stringify({ ...base(), choices: [], usage: convertUsageFromIr(s.usage) })}\n\n`);
          }
          out.push(DONE_FRAME);
          s.done = true;
          break;
        case 'error':
          out.push(`data: ${JSON.stringify(renderError(ev.error).body)}\n\n`);
          s.done = true;
          break;
      }
      return out;
    },
    end() {
      if (s.done) return [];
      s.done = true;
      const err = renderError(streamProtocolError('stream ended before the response was complete'));
      return [`data: ${JSON.stringify(err.body)}\n\n`];
    },
  };
}
