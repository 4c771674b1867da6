/**
 * OpenAI Chat Completions (non-streaming) response ⇄ IR.
 *
 * @see https://platform.openai.com/docs/api-reference/chat/object
 */
import type { Converted, EncodeContext, IrResponse, IrResponsePart } from '../ir.js';
import { compact, parseOrThrow, type JsonObject } from '../util.js';
import { mapFinishReasonFromIr, mapFinishReasonToIr } from './finish-reason.js';
import { convertUsageFromIr, convertUsageToIr } from './usage.js';
import { ChatResponse } from './wire.js';

/** Parses an OpenAI response body into the IR (first choice). Throws {@link TranslationError} when malformed. */
export function toIr(body: unknown): IrResponse {
  const res = parseOrThrow(ChatResponse, body, 'chat completion response');
  const choice = res.choices[0];
  const content: IrResponsePart[] = [];
  if (choice) {
    const m = choice.message;
    if (m.thinking_blocks && m.thinking_blocks.length > 0) {
      for (const b of m.thinking_blocks) {
        if (b.type === 'thinking') content.push(compact({ type: 'thinking' as const, text: b.thinking, signature: b.signature }));
        else content.push({ type: 'redacted_thinking', data: b.data });
      }
    } else if (m.reasoning_content) {
      content.push({ type: 'thinking', text: m.reasoning_content });
    }
    if (m.content) content.push({ type: 'text', text: m.content });
    if (m.refusal) content.push({ type: 'text', text: m.refusal });
    for (const tc of m.tool_calls ?? []) {
      const sig = tc.extra_content?.google?.thought_signature;
      content.push(compact({ type: 'tool_call' as const, id: tc.id, name: tc.function.name, arguments: tc.function.arguments, signature: sig }));
    }
  }
  const ir: IrResponse = {
    id: res.id,
    model: res.model,
    created: res.created,
    content,
    finish: mapFinishReasonToIr(choice?.finish_reason),
  };
  if (res.usage) ir.usage = convertUsageToIr(res.usage);
  return ir;
}

/**
 * Renders the IR as an OpenAI `chat.completion`. Reasoning goes to `reasoning_content` (and, with signatures, to
 * LiteLLM-style `thinking_blocks`), the de-facto extensions OpenAI-compatible clients read.
 */
export function fromIr(ir: IrResponse, ctx: EncodeContext): Converted<JsonObject> {
  const text: string[] = [];
  const reasoning: string[] = [];
  const blocks: JsonObject[] = [];
  let signed = false;
  const toolCalls: JsonObject[] = [];
  for (const p of ir.content) {
    switch (p.type) {
      case 'text':
        text.push(p.text);
        break;
      case 'thinking':
        reasoning.push(p.text);
        blocks.push(p.signature !== undefined ? { type: 'thinking', thinking: p.text, signature: p.signature } : { type: 'thinking', thinking: p.text });
        if (p.signature !== undefined) signed = true;
        break;
      case 'redacted_thinking':
        blocks.push({ type: 'redacted_thinking', data: p.data });
        signed = true;
        break;
      case 'tool_call': {
        const tc: JsonObject = { id: p.id, type: 'function', function: { name: p.name, arguments: p.arguments } };
        if (p.signature !== undefined) tc['extra_content'] = { google: { thought_signature: p.signature } };
        toolCalls.push(tc);
        break;
      }
    }
  }
  const message: JsonObject = { role: 'assistant', content: text.length > 0 ? text.join('') : null, refusal: null };
  if (reasoning.length > 0) message['reasoning_content'] = reasoning.join('');
  if (signed) message['thinking_blocks'] = blocks;
  if (toolCalls.length > 0) message['tool_calls'] = toolCalls;
  const out: JsonObject = {
    id: ir.id ?? ctx.id,
    object: 'chat.completion',
    created: ir.created ?? ctx.created,
    model: ir.model ?? ctx.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: mapFinishReasonFromIr(ir.finish) }],
  };
  if (ir.usage) out['usage'] = convertUsageFromIr(ir.usage);
  return { value: out, warnings: [] };
}
