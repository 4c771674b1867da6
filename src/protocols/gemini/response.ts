/**
 * Gemini `generateContent` (non-streaming) response ⇄ IR (first candidate).
 *
 * @see https://ai.google.dev/api/generate-content#generatecontentresponse
 */
import type { Converted, EncodeContext, IrResponse, IrResponsePart } from '../ir.js';
import { compact, isRecord, parseOrThrow, tryParseJson, type JsonObject } from '../util.js';
import { mapBlockReasonToIr, mapFinishReasonFromIr, mapFinishReasonToIr } from './finish-reason.js';
import { convertUsageFromIr, convertUsageToIr } from './usage.js';
import { GenerateResponse, type Part } from './wire.js';

/** Options for {@link toIr}. */
export interface ToIrOptions {
  /** Prefix for the ids of function calls that carry none: `<prefix><n>`. Default `call_`. */
  toolCallIdPrefix?: string;
}

/** Reads response parts into IR parts; `nextTool` numbers function calls without an id. */
export function partsToIr(parts: Part[], prefix: string, nextTool: { n: number }): IrResponsePart[] {
  const out: IrResponsePart[] = [];
  for (const p of parts) {
    const sig = p.thoughtSignature;
    if (p.functionCall) {
      const id = p.functionCall.id ?? `${prefix}${nextTool.n}`;
      nextTool.n++;
      out.push(compact({ type: 'tool_call' as const, id, name: p.functionCall.name, arguments: JSON.stringify(p.functionCall.args ?? {}), signature: sig }));
    } else if (typeof p.text === 'string') {
      if (p.thought === true) out.push(compact({ type: 'thinking' as const, text: p.text, signature: sig }));
      else out.push(compact({ type: 'text' as const, text: p.text, signature: sig }));
    } else if (sig !== undefined) {
      out.push({ type: 'thinking', text: '', signature: sig });
    } else if (Object.keys(p).length > 0) {
      out.push({ type: 'native', protocol: 'gemini', value: p });
    }
  }
  return out;
}

/** Parses a Gemini response body into the IR. Throws {@link TranslationError} when malformed. */
export function toIr(body: unknown, options: ToIrOptions = {}): IrResponse {
  const res = parseOrThrow(GenerateResponse, body, 'generateContent response');
  const cand = res.candidates?.[0];
  const content = partsToIr(cand?.content?.parts ?? [], options.toolCallIdPrefix ?? 'call_', { n: 0 });
  const hasCalls = content.some((p) => p.type === 'tool_call');
  const block = res.promptFeedback?.blockReason;
  const ir: IrResponse = {
    content,
    finish: !cand && block !== undefined ? mapBlockReasonToIr(block) : mapFinishReasonToIr(cand?.finishReason, hasCalls),
  };
  if (res.responseId !== undefined) ir.id = res.responseId;
  if (res.modelVersion !== undefined) ir.model = res.modelVersion;
  if (res.usageMetadata) ir.usage = convertUsageToIr(res.usageMetadata);
  return ir;
}

/** Renders one IR part as a Gemini part (undefined when Gemini has no equivalent). */
export function partFromIr(p: IrResponsePart): JsonObject | undefined {
  switch (p.type) {
    case 'text':
      return p.signature !== undefined ? { text: p.text, thoughtSignature: p.signature } : { text: p.text };
    case 'thinking': {
      const part: JsonObject = { text: p.text, thought: true };
      if (p.signature !== undefined) part['thoughtSignature'] = p.signature;
      return part;
    }
    case 'tool_call': {
      const args = p.arguments.trim() === '' ? {} : tryParseJson(p.arguments);
      const part: JsonObject = { functionCall: { id: p.id, name: p.name, args: isRecord(args) ? args : {} } };
      if (p.signature !== undefined) part['thoughtSignature'] = p.signature;
      return part;
    }
    case 'native':
      return p.protocol === 'gemini' && isRecord(p.value) ? p.value : undefined;
    case 'redacted_thinking':
      return undefined;
  }
}

/** Renders the IR as a Gemini `GenerateContentResponse` (CONTRACT §3.8 reply shape). */
export function fromIr(ir: IrResponse, ctx: EncodeContext): Converted<JsonObject> {
  const warnings: string[] = [];
  const parts: JsonObject[] = [];
  for (const p of ir.content) {
    const part = partFromIr(p);
    if (part) parts.push(part);
    else warnings.push(`content: a ${p.type === 'native' ? `${p.protocol} block` : p.type} has no gemini equivalent, dropped`);
    if (p.type === 'tool_call' && part && !isRecord(tryParseJson(p.arguments.trim() === '' ? '{}' : p.arguments))) {
      warnings.push(`tool call ${p.id}: arguments were not a JSON object; sent as {}`);
    }
  }
  const out: JsonObject = {
    candidates: [{ content: { role: 'model', parts }, finishReason: mapFinishReasonFromIr(ir.finish), index: 0 }],
  };
  if (ir.usage) out['usageMetadata'] = convertUsageFromIr(ir.usage);
  out['modelVersion'] = ir.model ?? ctx.model;
  out['responseId'] = ir.id ?? ctx.id;
  return { value: out, warnings };
}
