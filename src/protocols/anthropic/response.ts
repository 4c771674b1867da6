/**
 * Anthropic Messages (non-streaming) response ⇄ IR.
 *
 * @see https://docs.anthropic.com/en/api/messages
 */
import type { Converted, EncodeContext, IrResponse, IrResponsePart } from '../ir.js';
import { compact, isRecord, parseOrThrow, type JsonObject } from '../util.js';
import { mapFinishReasonFromIr, mapFinishReasonToIr } from './finish-reason.js';
import { convertUsageFromIr, convertUsageToIr } from './usage.js';
import { MessageResponse } from './wire.js';

/** Reads one response content block into the IR (unknown block types travel as `native`). */
export function blockToIr(b: JsonObject): IrResponsePart {
  switch (b['type']) {
    case 'text':
      if (typeof b['text'] === 'string') return { type: 'text', text: b['text'] };
      break;
    case 'thinking':
      if (typeof b['thinking'] === 'string') {
        const sig = b['signature'];
        return compact({ type: 'thinking' as const, text: b['thinking'], signature: typeof sig === 'string' && sig !== '' ? sig : undefined });
      }
      break;
    case 'redacted_thinking':
      if (typeof b['data'] === 'string') return { type: 'redacted_thinking', data: b['data'] };
      break;
    case 'tool_use':
      if (typeof b['id'] === 'string' && typeof b['name'] === 'string') {
        return { type: 'tool_call', id: b['id'], name: b['name'], arguments: JSON.stringify(b['input'] ?? {}) };
      }
      break;
  }
  return { type: 'native', protocol: 'anthropic', value: b };
}

/** Parses an Anthropic response body into the IR. Throws {@link TranslationError} when malformed. */
export function toIr(body: unknown): IrResponse {
  const res = parseOrThrow(MessageResponse, body, 'messages response');
  return {
    id: res.id,
    model: res.model,
    content: res.content.map(blockToIr),
    finish: mapFinishReasonToIr(res.stop_reason, res.stop_sequence),
    usage: convertUsageToIr(res.usage),
  };
}

/** Renders the IR as an Anthropic `message`. Reasoning from other providers has no signature (sent as `""`). */
export function fromIr(ir: IrResponse, ctx: EncodeContext): Converted<JsonObject> {
  const warnings: string[] = [];
  const content: JsonObject[] = [];
  for (const p of ir.content) {
    switch (p.type) {
      case 'text':
        content.push({ type: 'text', text: p.text });
        break;
      case 'thinking':
        content.push({ type: 'thinking', thinking: p.text, signature: p.signature ?? '' });
        break;
      case 'redacted_thinking':
        content.push({ type: 'redacted_thinking', data: p.data });
        break;
      case 'tool_call': {
        const input = p.arguments.trim() === '' ? {} : safeObject(p.arguments);
        if (input === undefined) warnings.push(`tool call ${p.id}: arguments were not a JSON object; sent as {}`);
        content.push({ type: 'tool_use', id: p.id, name: p.name, input: input ?? {} });
        break;
      }
      case 'native':
        if (p.protocol === 'anthropic' && isRecord(p.value)) content.push(p.value);
        else warnings.push(`content: a ${p.protocol} block has no anthropic equivalent, dropped`);
        break;
    }
  }
  const { stopReason, stopSequence } = mapFinishReasonFromIr(ir.finish);
  return {
    value: {
      id: ir.id ?? ctx.id,
      type: 'message',
      role: 'assistant',
      model: ir.model ?? ctx.model,
      content,
      stop_reason: stopReason,
      stop_sequence: stopSequence,
      usage: ir.usage ? convertUsageFromIr(ir.usage) : { input_tokens: 0, output_tokens: 0 },
    },
    warnings,
  };
}

function safeObject(text: string): JsonObject | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return isRecord(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
