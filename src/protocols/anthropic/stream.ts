/**
 * Anthropic Messages SSE streams ⇄ IR stream events, incrementally.
 *
 * Event sequence: `message_start`, then per content block `content_block_start` / `content_block_delta`… /
 * `content_block_stop`, then `message_delta` (stop reason, cumulative usage) and `message_stop`; `ping` may appear
 * anywhere and `error` ends the stream. The decoder reads the JSON `type` (equal to the SSE `event:` name).
 *
 * @see https://docs.anthropic.com/en/docs/build-with-claude/streaming
 */
import {
  streamProtocolError,
  type DecoderOptions, type EncodeContext, type IrFinish, type IrStreamEvent, type IrUsage, type StreamDecoder,
  type StreamEncoder,
} from '../ir.js';
import { SseDecoder, decodeSseChunk, encodeSseJson, type SseEvent } from '../sse.js';
import { isRecord, type JsonObject } from '../util.js';
import { parseUpstreamError, renderError } from './errors.js';
import { mapFinishReasonFromIr, mapFinishReasonToIr } from './finish-reason.js';
import { convertUsageFromIr, convertUsageToIr, mergeUsage } from './usage.js';

/** What an upstream content block (by Anthropic `index`) is, for routing its deltas. */
type BlockKind = { kind: 'text' } | { kind: 'thinking' } | { kind: 'tool'; irIndex: number } | { kind: 'ignored' };

/** Decoder state. */
interface DecoderState {
  started: boolean;
  done: boolean;
  blocks: Map<number, BlockKind>;
  nextTool: number;
  /** Raw usage so far (`message_start`, merged with each `message_delta`). */
  usage: JsonObject | undefined;
  finish: IrFinish | undefined;
}

/** Creates an Anthropic stream decoder: SSE bytes in, IR events out. */
export function createDecoder(options: DecoderOptions = {}): StreamDecoder {
  const sse = new SseDecoder(options.maxEventBytes === undefined ? {} : { maxEventBytes: options.maxEventBytes });
  const s: DecoderState = { started: false, done: false, blocks: new Map(), nextTool: 0, usage: undefined, finish: undefined };

  function fail(out: IrStreamEvent[], message: string): void {
    out.push({ type: 'error', error: streamProtocolError(message) });
    s.done = true;
  }

  function ensureStarted(out: IrStreamEvent[]): void {
    if (!s.started) {
      s.started = true;
      out.push({ type: 'start' });
    }
  }

  function blockStart(out: IrStreamEvent[], index: number, b: JsonObject): void {
    switch (b['type']) {
      case 'text':
        s.blocks.set(index, { kind: 'text' });
        if (typeof b['text'] === 'string' && b['text'] !== '') out.push({ type: 'text_delta', text: b['text'] });
        return;
      case 'thinking':
        s.blocks.set(index, { kind: 'thinking' });
        if (typeof b['thinking'] === 'string' && b['thinking'] !== '') out.push({ type: 'thinking_delta', text: b['thinking'] });
        if (typeof b['signature'] === 'string' && b['signature'] !== '') out.push({ type: 'thinking_signature', signature: b['signature'] });
        return;
      case 'redacted_thinking':
        s.blocks.set(index, { kind: 'ignored' });
        if (typeof b['data'] === 'string') out.push({ type: 'redacted_thinking', data: b['data'] });
        return;
      case 'tool_use': {
        if (typeof b['id'] !== 'string' || typeof b['name'] !== 'string') break;
        const irIndex = s.nextTool++;
        s.blocks.set(index, { kind: 'tool', irIndex });
        out.push({ type: 'tool_call_start', index: irIndex, id: b['id'], name: b['name'] });
        const input = b['input'];
        if (isRecord(input) && Object.keys(input).length > 0) {
          out.push({ type: 'tool_call_delta', index: irIndex, argumentsDelta: JSON.stringify(input) });
        }
        return;
      }
    }
    // Server-tool blocks and future block types have no IR event; their deltas are skipped too.
    s.blocks.set(index, { kind: 'ignored' });
  }

  function blockDelta(out: IrStreamEvent[], block: BlockKind | undefined, d: JsonObject): void {
    if (!block || block.kind === 'ignored') return;
    switch (d['type']) {
      case 'text_delta':
        if (typeof d['text'] === 'string' && d['text'] !== '') out.push({ type: 'text_delta', text: d['text'] });
        return;
      case 'thinking_delta':
        if (typeof d['thinking'] === 'string' && d['thinking'] !== '') out.push({ type: 'thinking_delta', text: d['thinking'] });
        return;
      case 'signature_delta':
        if (typeof d['signature'] === 'string' && d['signature'] !== '') out.push({ type: 'thinking_signature', signature: d['signature'] });
        return;
      case 'input_json_delta':
        if (block.kind === 'tool' && typeof d['partial_json'] === 'string' && d['partial_json'] !== '') {
          out.push({ type: 'tool_call_delta', index: block.irIndex, argumentsDelta: d['partial_json'] });
        }
        return;
      default: // citations_delta and future delta types
    }
  }

  function onEvent(ev: SseEvent, out: IrStreamEvent[]): void {
    if (s.done) return;
    let data: unknown;
    try {
      data = JSON.parse(ev.data);
    } catch {
      fail(out, 'upstream sent a stream event that is not JSON');
      return;
    }
    if (!isRecord(data)) return fail(out, 'upstream sent a stream event that is not a JSON object');
    const type = typeof data['type'] === 'string' ? data['type'] : ev.event;
    switch (type) {
      case 'message_start': {
        s.started = true;
        const m = data['message'];
        const start: IrStreamEvent = { type: 'start' };
        if (isRecord(m)) {
          if (typeof m['id'] === 'string') start.id = m['id'];
          if (typeof m['model'] === 'string') start.model = m['model'];
        }
        out.push(start);
        if (isRecord(m) && isRecord(m['usage'])) {
          s.usage = m['usage'];
          out.push({ type: 'usage', usage: convertUsageToIr(s.usage) });
        }
        return;
      }
      case 'content_block_start': {
        ensureStarted(out);
        const b = data['content_block'];
        if (typeof data['index'] === 'number' && isRecord(b)) blockStart(out, data['index'], b);
        return;
      }
      case 'content_block_delta': {
        const d = data['delta'];
        if (typeof data['index'] === 'number' && isRecord(d)) blockDelta(out, s.blocks.get(data['index']), d);
        return;
      }
      case 'content_block_stop': {
        const block = typeof data['index'] === 'number' ? s.blocks.get(data['index']) : undefined;
        if (block?.kind === 'tool') out.push({ type: 'tool_call_end', index: block.irIndex });
        return;
      }
      case 'message_delta': {
        ensureStarted(out);
        const d = data['delta'];
        if (isRecord(d)) {
          const sr = d['stop_reason'];
          const seq = d['stop_sequence'];
          if (typeof sr === 'string') s.finish = mapFinishReasonToIr(sr, typeof seq === 'string' ? seq : null);
        }
        if (isRecord(data['usage'])) {
          s.usage = mergeUsage(s.usage, data['usage']);
          out.push({ type: 'usage', usage: convertUsageToIr(s.usage) });
        }
        return;
      }
      case 'message_stop':
        ensureStarted(out);
        out.push({ type: 'finish', finish: s.finish ?? mapFinishReasonToIr(null) });
        s.done = true;
        return;
      case 'error':
        out.push({ type: 'error', error: parseUpstreamError(0, data) });
        s.done = true;
        return;
      default: // ping and future event types
    }
  }

  return {
    push(chunk) {
      return s.done ? [] : decodeSseChunk(sse, chunk, onEvent, fail);
    },
    end() {
      const out: IrStreamEvent[] = [];
      if (!s.done) for (const ev of sse.end()) onEvent(ev, out);
      if (s.done) return out;
      // A stop reason without `message_stop` is complete enough; anything less is a truncated stream.
      if (s.finish) {
        out.push({ type: 'finish', finish: s.finish });
        s.done = true;
      } else {
        fail(out, 'upstream stream ended before the response was complete');
      }
      return out;
    },
  };
}

/** The content block the encoder has open. */
type OpenBlock = { kind: 'text' | 'thinking' | 'tool'; index: number; irTool?: number; sealed?: boolean };

/** Encoder state. */
interface EncoderState {
  id: string;
  model: string;
  /** `message_start` sent. It waits for the first content event so it can carry the usage known by then. */
  started: boolean;
  done: boolean;
  usage: IrUsage | undefined;
  nextIndex: number;
  open: OpenBlock | undefined;
  /** IR tool index → Anthropic block index. */
  tools: Map<number, number>;
}

/** Creates an Anthropic stream encoder: IR events in, Anthropic SSE frames out. */
export function createEncoder(ctx: EncodeContext): StreamEncoder {
  const s: EncoderState = {
    id: ctx.id, model: ctx.model, started: false, done: false, usage: undefined, nextIndex: 0, open: undefined, tools: new Map(),
  };

  function ensureStarted(out: string[]): void {
    if (s.started) return;
    s.started = true;
    const usage = s.usage ? convertUsageFromIr(s.usage) : { input_tokens: 0, output_tokens: 0 };
    out.push(encodeSseJson({
      type: 'message_start',
      message: { id: s.id, type: 'message', role: 'assistant', model: s.model, content: [], stop_reason: null, stop_sequence: null, usage },
    }, 'message_start'));
  }

  function close(out: string[]): void {
    if (!s.open) return;
    out.push(`event: content_block_stop\ndata: {"type":"content_block_stop","index":${s.open.index}}\n\n`);
    s.open = undefined;
  }

  function open(out: string[], block: Omit<OpenBlock, 'index'>, contentBlock: JsonObject): number {
    close(out);
    const index = s.nextIndex++;
    s.open = { ...block, index };
    out.push(encodeSseJson({ type: 'content_block_start', index, content_block: contentBlock }, 'content_block_start'));
    return index;
  }

  /** The open thinking block that can still take deltas, or a new one. */
  function thinkingBlock(out: string[]): number {
    return s.open?.kind === 'thinking' && !s.open.sealed ? s.open.index : open(out, { kind: 'thinking' }, { type: 'thinking', thinking: '' });
  }

  function delta(out: string[], index: number, d: string): void {
    out.push(`event: content_block_delta\ndata: {"type":"content_block_delta","index":${index},"delta":${d}}\n\n`);
  }

  return {
    push(ev) {
      const out: string[] = [];
      if (s.done) return out;
      switch (ev.type) {
        case 'start':
          if (ev.id !== undefined) s.id = ev.id;
          if (ev.model !== undefined) s.model = ev.model;
          return out;
        case 'usage':
          s.usage = ev.usage;
          return out;
        case 'error':
          out.push(encodeSseJson(renderError(ev.error).body, 'error'));
          s.done = true;
          return out;
        default:
      }
      ensureStarted(out);
      switch (ev.type) {
        case 'text_delta': {
          const index = s.open?.kind === 'text' ? s.open.index : open(out, { kind: 'text' }, { type: 'text', text: '' });
          delta(out, index, `{"type":"text_delta","text":${JSON.stringify(ev.text)}}`);
          break;
        }
        case 'thinking_delta':
          delta(out, thinkingBlock(out), `{"type":"thinking_delta","thinking":${JSON.stringify(ev.text)}}`);
          break;
        case 'thinking_signature':
          delta(out, thinkingBlock(out), `{"type":"signature_delta","signature":${JSON.stringify(ev.signature)}}`);
          if (s.open) s.open.sealed = true;
          break;
        case 'redacted_thinking':
          open(out, { kind: 'thinking', sealed: true }, { type: 'redacted_thinking', data: ev.data });
          close(out);
          break;
        case 'tool_call_start':
          s.tools.set(ev.index, open(out, { kind: 'tool', irTool: ev.index }, { type: 'tool_use', id: ev.id, name: ev.name, input: {} }));
          break;
        case 'tool_call_delta': {
          const index = s.tools.get(ev.index);
          if (index !== undefined) delta(out, index, `{"type":"input_json_delta","partial_json":${JSON.stringify(ev.argumentsDelta)}}`);
          break;
        }
        case 'tool_call_end':
          if (s.open?.kind === 'tool' && s.open.irTool === ev.index) close(out);
          break;
        case 'finish': {
          close(out);
          const { stopReason, stopSequence } = mapFinishReasonFromIr(ev.finish);
          const usage = s.usage ? convertUsageFromIr(s.usage) : { output_tokens: 0 };
          out.push(encodeSseJson({ type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: stopSequence }, usage }, 'message_delta'));
          out.push('event: message_stop\ndata: {"type":"message_stop"}\n\n');
          s.done = true;
          break;
        }
      }
      return out;
    },
    end() {
      if (s.done) return [];
      s.done = true;
      return [encodeSseJson(renderError(streamProtocolError('stream ended before the response was complete')).body, 'error')];
    },
  };
}
