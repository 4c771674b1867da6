/**
 * Gemini `streamGenerateContent?alt=sse` streams ⇄ IR stream events, incrementally.
 *
 * Each SSE `data:` line is a whole `GenerateContentResponse` holding the next parts; the chunk with `finishReason`
 * (and the final `usageMetadata`) ends the stream; there is no `[DONE]`. Function calls arrive whole (never as
 * partial arguments), so the encoder buffers a call's argument deltas until its `tool_call_end`.
 *
 * @see https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
 */
import {
  streamProtocolError,
  type DecoderOptions, type EncodeContext, type IrFinish, type IrStreamEvent, type IrUsage, type StreamDecoder,
  type StreamEncoder,
} from '../ir.js';
import { SseDecoder, decodeSseChunk, type SseEvent } from '../sse.js';
import { isRecord, tryParseJson, type JsonObject } from '../util.js';
import { parseUpstreamError, renderError } from './errors.js';
import { mapBlockReasonToIr, mapFinishReasonFromIr, mapFinishReasonToIr } from './finish-reason.js';
import { convertUsageFromIr, convertUsageToIr } from './usage.js';

/** Decoder state. */
interface DecoderState {
  started: boolean;
  done: boolean;
  nextTool: number;
  /** Token counts of the last usage event, to skip unchanged repeats. */
  usageKey: string;
}

/** Creates a Gemini stream decoder: SSE bytes in, IR events out. */
export function createDecoder(options: DecoderOptions = {}): StreamDecoder {
  const sse = new SseDecoder(options.maxEventBytes === undefined ? {} : { maxEventBytes: options.maxEventBytes });
  const prefix = options.toolCallIdPrefix ?? 'call_';
  const s: DecoderState = { started: false, done: false, nextTool: 0, usageKey: '' };

  function fail(out: IrStreamEvent[], message: string): void {
    out.push({ type: 'error', error: streamProtocolError(message) });
    s.done = true;
  }

  function part(out: IrStreamEvent[], p: JsonObject): void {
    const sig = typeof p['thoughtSignature'] === 'string' ? p['thoughtSignature'] : undefined;
    const fc = p['functionCall'];
    if (isRecord(fc) && typeof fc['name'] === 'string') {
      const index = s.nextTool++;
      const start: IrStreamEvent = { type: 'tool_call_start', index, id: typeof fc['id'] === 'string' ? fc['id'] : `${prefix}${index}`, name: fc['name'] };
      if (sig !== undefined) start.signature = sig;
      out.push(start);
      out.push({ type: 'tool_call_delta', index, argumentsDelta: JSON.stringify(isRecord(fc['args']) ? fc['args'] : {}) });
      out.push({ type: 'tool_call_end', index });
      return;
    }
    const text = p['text'];
    if (typeof text !== 'string') {
      if (sig !== undefined) out.push({ type: 'thinking_signature', signature: sig });
      return;
    }
    if (p['thought'] === true || text === '') {
      if (text !== '') out.push({ type: 'thinking_delta', text });
      if (sig !== undefined) out.push({ type: 'thinking_signature', signature: sig });
      return;
    }
    out.push(sig !== undefined ? { type: 'text_delta', text, signature: sig } : { type: 'text_delta', text });
  }

  function onEvent(ev: SseEvent, out: IrStreamEvent[]): void {
    if (s.done) return;
    let chunk: unknown;
    try {
      chunk = JSON.parse(ev.data);
    } catch {
      fail(out, 'upstream sent a stream event that is not JSON');
      return;
    }
    if (!isRecord(chunk)) return fail(out, 'upstream sent a stream event that is not a JSON object');
    if (chunk['error'] !== undefined) {
      out.push({ type: 'error', error: parseUpstreamError(0, chunk) });
      s.done = true;
      return;
    }
    if (!s.started) {
      s.started = true;
      const start: IrStreamEvent = { type: 'start' };
      if (typeof chunk['responseId'] === 'string') start.id = chunk['responseId'];
      if (typeof chunk['modelVersion'] === 'string') start.model = chunk['modelVersion'];
      out.push(start);
    }
    // Usage first: each chunk's usageMetadata is a cumulative snapshot, and a client format that announces usage at
    // the start of the message (Anthropic `message_start`) can then carry the prompt tokens.
    const um = chunk['usageMetadata'];
    const cands = chunk['candidates'];
    const cand = Array.isArray(cands) ? cands[0] as unknown : undefined;
    if (isRecord(um)) {
      const key = `${String(um['totalTokenCount'])}/${String(um['candidatesTokenCount'])}/${String(um['cachedContentTokenCount'])}`;
      const final = isRecord(cand) && typeof cand['finishReason'] === 'string';
      if (key !== s.usageKey || final) {
        s.usageKey = key;
        out.push({ type: 'usage', usage: convertUsageToIr(um) });
      }
    }
    let finish: IrFinish | undefined;
    if (isRecord(cand)) {
      const content = cand['content'];
      const parts = isRecord(content) ? content['parts'] : undefined;
      if (Array.isArray(parts)) for (const p of parts) if (isRecord(p)) part(out, p);
      if (typeof cand['finishReason'] === 'string') finish = mapFinishReasonToIr(cand['finishReason'], s.nextTool > 0);
    } else {
      const fb = chunk['promptFeedback'];
      if (isRecord(fb) && typeof fb['blockReason'] === 'string') finish = mapBlockReasonToIr(fb['blockReason']);
    }
    if (finish) {
      out.push({ type: 'finish', finish });
      s.done = true;
    }
  }

  return {
    push(chunk) {
      return s.done ? [] : decodeSseChunk(sse, chunk, onEvent, fail);
    },
    end() {
      const out: IrStreamEvent[] = [];
      if (!s.done) for (const ev of sse.end()) onEvent(ev, out);
      if (!s.done) fail(out, 'upstream stream ended before the response was complete');
      return out;
    },
  };
}

/** A tool call being buffered by the encoder. */
interface PendingCall {
  id: string;
  name: string;
  args: string;
  signature: string | undefined;
}

/** Encoder state. */
interface EncoderState {
  id: string;
  model: string;
  /** `]},"index":0}],"modelVersion":…,"responseId":…}` — the part of each chunk after its parts. */
  tail: string;
  done: boolean;
  usage: IrUsage | undefined;
  calls: Map<number, PendingCall>;
}

const HEAD = 'data: {"candidates":[{"content":{"role":"model","parts":[';

/** Creates a Gemini stream encoder: IR events in, `GenerateContentResponse` SSE chunks out. */
export function createEncoder(ctx: EncodeContext): StreamEncoder {
  const s: EncoderState = { id: ctx.id, model: ctx.model, tail: '', done: false, usage: undefined, calls: new Map() };
  const setTail = (): void => {
    s.tail = `]},"index":0}],"modelVersion":${JSON.stringify(s.model)},"responseId":${JSON.stringify(s.id)}}\n\n`;
  };
  setTail();

  function chunk(out: string[], partJson: string): void {
    out.push(`${HEAD}${partJson}${s.tail}`);
  }

  function emitCall(out: string[], c: PendingCall): boolean {
    const args = c.args.trim() === '' ? {} : tryParseJson(c.args);
    if (!isRecord(args)) {
      out.push(`data: ${JSON.stringify(renderError(streamProtocolError(`arguments of tool call ${c.id} are not a JSON object`)).body)}\n\n`);
      s.done = true;
      return false;
    }
    const p: JsonObject = { functionCall: { id: c.id, name: c.name, args } };
    if (c.signature !== undefined) p['thoughtSignature'] = c.signature;
    chunk(out, JSON.stringify(p));
    return true;
  }

  return {
    push(ev) {
      const out: string[] = [];
      if (s.done) return out;
      switch (ev.type) {
        case 'start':
          if (ev.id !== undefined) s.id = ev.id;
          if (ev.model !== undefined) s.model = ev.model;
          setTail();
          break;
        case 'text_delta':
          chunk(out, ev.signature !== undefined
            ? `{"text":${JSON.stringify(ev.text)},"thoughtSignature":${JSON.stringify(ev.signature)}}`
            : `{"text":${JSON.stringify(ev.text)}}`);
          break;
        case 'thinking_delta':
          chunk(out, `{"text":${JSON.stringify(ev.text)},"thought":true}`);
          break;
        case 'thinking_signature':
          chunk(out, `{"text":"","thought":true,"thoughtSignature":${JSON.stringify(ev.signature)}}`);
          break;
        case 'redacted_thinking':
          break;
        case 'tool_call_start':
          s.calls.set(ev.index, { id: ev.id, name: ev.name, args: '', signature: ev.signature });
          break;
        case 'tool_call_delta': {
          const c = s.calls.get(ev.index);
          if (c) c.args += ev.argumentsDelta;
          break;
        }
        case 'tool_call_end': {
          const c = s.calls.get(ev.index);
          if (c) {
            s.calls.delete(ev.index);
            emitCall(out, c);
          }
          break;
        }
        case 'usage':
          s.usage = ev.usage;
          break;
        case 'finish': {
          for (const c of [...s.calls.values()]) if (!emitCall(out, c)) return out;
          s.calls.clear();
          const final: JsonObject = { candidates: [{ finishReason: mapFinishReasonFromIr(ev.finish), index: 0 }] };
          if (s.usage) final['usageMetadata'] = convertUsageFromIr(s.usage);
          final['modelVersion'] = s.model;
          final['responseId'] = s.id;
          out.push(`data: ${JSON.stringify(final)}\n\n`);
          s.done = true;
          break;
        }
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
      return [`data: ${JSON.stringify(renderError(streamProtocolError('stream ended before the response was complete')).body)}\n\n`];
    },
  };
}
