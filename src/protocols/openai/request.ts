/**
 * OpenAI Chat Completions request ⇄ IR.
 *
 * @see https://platform.openai.com/docs/api-reference/chat/create
 */
import {
  TranslationError,
  type Converted, type IrAssistantPart, type IrFilePart, type IrImagePart, type IrMessage, type IrReasoningEffort,
  type IrRequest, type IrTextPart, type IrThinking, type IrTool, type IrToolResultPart, type IrUserPart,
} from '../ir.js';
import { compact, extraFields, isRecord, parseDataUrl, parseOrThrow, toDataUrl, Warnings, warnDroppedExtra, type JsonObject } from '../util.js';
import { ChatRequest, type Message, type UserContentPart } from './wire.js';

/** Request fields this converter maps; any other top-level field goes to `IrRequest.extra`. */
const KNOWN = new Set([
  'model', 'messages', 'tools', 'tool_choice', 'parallel_tool_calls', 'response_format', 'max_tokens',
  'max_completion_tokens', 'temperature', 'top_p', 'stop', 'seed', 'presence_penalty', 'frequency_penalty', 'n',
  'reasoning_effort', 'user', 'metadata', 'stream', 'stream_options',
]);

const EFFORTS: ReadonlySet<string> = new Set(['minimal', 'low', 'medium', 'high']);

/** Parses an OpenAI request body into the IR. Throws {@link TranslationError} for a malformed or unsupported body. */
export function toIr(body: unknown): Converted<IrRequest> {
  const w = new Warnings();
  const req = parseOrThrow(ChatRequest, body, 'chat completions request');
  if (req.n != null && req.n !== 1) throw new TranslationError('n', 'n > 1 is not supported through protocol translation');

  const system: IrTextPart[] = [];
  const messages: IrMessage[] = [];
  req.messages.forEach((m, i) => {
    if (m.name !== undefined) w.add(`messages[${i}].name: not carried through translation, dropped`);
    switch (m.role) {
      case 'system':
      case 'developer': {
        const parts = textParts(m.content);
        if (messages.length === 0) system.push(...parts);
        else messages.push({ role: 'system', content: parts });
        return;
      }
      case 'user':
        messages.push({ role: 'user', content: userParts(m.content, i) });
        return;
      case 'assistant':
        messages.push({ role: 'assistant', content: assistantParts(m) });
        return;
      case 'tool': {
        const result: IrToolResultPart = { type: 'tool_result', toolCallId: m.tool_call_id, content: textParts(m.content) };
        const last = messages[messages.length - 1];
        if (last?.role === 'tool') last.content.push(result);
        else messages.push({ role: 'tool', content: [result] });
        return;
      }
    }
  });

  const ir: IrRequest = { model: req.model, system, messages, stream: req.stream === true };
  if (req.tools && req.tools.length > 0) {
    ir.tools = req.tools.map((t): IrTool => compact({
      type: 'function' as const,
      name: t.function.name,
      description: t.function.description,
      parameters: t.function.parameters ?? { type: 'object', properties: {} },
      strict: t.function.strict ?? undefined,
    }));
  }
  if (req.tool_choice != null) {
    ir.toolChoice = typeof req.tool_choice === 'string' ? req.tool_choice : { name: req.tool_choice.function.name };
  }
  if (req.parallel_tool_calls != null) ir.parallelToolCalls = req.parallel_tool_calls;
  if (req.response_format != null) {
    const rf = req.response_format;
    if (rf.type === 'json_schema') {
      ir.responseFormat = compact({
        type: 'json_schema' as const,
        name: rf.json_schema.name,
        description: rf.json_schema.description,
        schema: rf.json_schema.schema ?? { type: 'object' },
        strict: rf.json_schema.strict ?? undefined,
      });
    } else {
      ir.responseFormat = { type: rf.type };
    }
  }
  const maxTokens = req.max_completion_tokens ?? req.max_tokens;
  if (maxTokens != null) ir.maxTokens = maxTokens;
  if (req.temperature != null) ir.temperature = req.temperature;
  if (req.top_p != null) ir.topP = req.top_p;
  if (req.stop != null) ir.stop = typeof req.stop === 'string' ? [req.stop] : req.stop;
  if (req.seed != null) ir.seed = req.seed;
  if (req.presence_penalty != null) ir.presencePenalty = req.presence_penalty;
  if (req.frequency_penalty != null) ir.frequencyPenalty = req.frequency_penalty;
  if (req.reasoning_effort != null) {
    const e = req.reasoning_effort;
    if (e === 'none') ir.thinking = { type: 'disabled' };
    else if (EFFORTS.has(e)) ir.thinking = { type: 'enabled', effort: e as IrReasoningEffort };
    else throw new TranslationError('reasoning_effort', `unsupported reasoning_effort '${e}'`);
  }
  if (req.user !== undefined) ir.user = req.user;
  if (req.metadata != null) ir.metadata = req.metadata;
  if (req.stream === true && req.stream_options?.include_usage === true) ir.streamIncludeUsage = true;
  const extra = extraFields(req, KNOWN);
  if (extra) ir.extra = { protocol: 'openai', fields: extra };
  return { value: ir, warnings: w.list() };
}

function textParts(content: string | Array<{ text: string }>): IrTextPart[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return content.map((p) => ({ type: 'text', text: p.text }));
}

function userParts(content: string | UserContentPart[], i: number): IrUserPart[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return content.map((p, j): IrUserPart => {
    switch (p.type) {
      case 'text':
        return { type: 'text', text: p.text };
      case 'image_url': {
        const d = parseDataUrl(p.image_url.url);
        const part: IrImagePart = {
          type: 'image',
          source: d ? { kind: 'base64', mediaType: d.mediaType, data: d.data } : { kind: 'url', url: p.image_url.url },
        };
        if (p.image_url.detail !== undefined) part.detail = p.image_url.detail;
        return part;
      }
      case 'input_audio':
        return { type: 'file', source: { kind: 'base64', mediaType: `audio/${p.input_audio.format}`, data: p.input_audio.data } };
      case 'file': {
        const f = p.file;
        let part: IrFilePart;
        if (f.file_data !== undefined) {
          const d = parseDataUrl(f.file_data);
          if (!d) throw new TranslationError(`messages[${i}].content[${j}].file.file_data`, 'file_data must be a base64 data URL');
          part = { type: 'file', source: { kind: 'base64', mediaType: d.mediaType, data: d.data } };
        } else if (f.file_id !== undefined) {
          part = { type: 'file', source: { kind: 'file_id', fileId: f.file_id } };
        } else {
          throw new TranslationError(`messages[${i}].content[${j}].file`, 'file needs file_data or file_id');
        }
        if (f.filename !== undefined) part.filename = f.filename;
        return part;
      }
    }
  });
}

function assistantParts(m: Extract<Message, { role: 'assistant' }>): IrAssistantPart[] {
  const parts: IrAssistantPart[] = [];
  if (m.thinking_blocks && m.thinking_blocks.length > 0) {
    for (const b of m.thinking_blocks) {
      if (b.type === 'thinking') parts.push(compact({ type: 'thinking' as const, text: b.thinking, signature: b.signature }));
      else parts.push({ type: 'redacted_thinking', data: b.data });
    }
  } else if (m.reasoning_content) {
    parts.push({ type: 'thinking', text: m.reasoning_content });
  }
  if (typeof m.content === 'string') {
    if (m.content !== '') parts.push({ type: 'text', text: m.content });
  } else if (Array.isArray(m.content)) {
    for (const p of m.content) parts.push({ type: 'text', text: p.type === 'text' ? p.text : p.refusal });
  }
  if (m.refusal) parts.push({ type: 'text', text: m.refusal });
  for (const tc of m.tool_calls ?? []) {
    const sig = tc.extra_content?.google?.thought_signature;
    parts.push(compact({ type: 'tool_call' as const, id: tc.id, name: tc.function.name, arguments: tc.function.arguments, signature: sig }));
  }
  return parts;
}

/** Options for {@link fromIr}. */
export interface FromIrOptions {
  /** Upstream model name (after `model_map`); defaults to `ir.model`. */
  model?: string;
  /**
   * How a user turn made only of text is written: as content parts (default; CONTRACT §3.7 for Anthropic clients) or
   * as one concatenated string (CONTRACT §3.8 for Gemini clients). Turns with images or files are always parts.
   */
  textContent?: 'parts' | 'string';
}

/** Renders the IR as an OpenAI request body. Throws {@link TranslationError} for what OpenAI cannot express. */
export function fromIr(ir: IrRequest, options: FromIrOptions = {}): Converted<JsonObject> {
  const w = new Warnings();
  const messages: JsonObject[] = [];
  if (ir.system.length > 0) messages.push({ role: 'system', content: systemContent(ir.system, w) });
  for (const m of ir.messages) {
    switch (m.role) {
      case 'system':
        messages.push({ role: 'system', content: systemContent(m.content, w) });
        break;
      case 'user':
        if (options.textContent === 'string' && m.content.every((p) => p.type === 'text')) {
          for (const p of m.content) if (p.type === 'text' && p.cacheControl) w.add('cache_control: openai has no cache_control, dropped');
          messages.push({ role: 'user', content: m.content.map((p) => p.type === 'text' ? p.text : '').join('') });
        } else {
          messages.push({ role: 'user', content: m.content.map((p) => userPartOut(p, w)) });
        }
        break;
      case 'assistant':
        messages.push(assistantOut(m.content, w));
        break;
      case 'tool':
        for (const r of m.content) {
          if (r.cacheControl) w.add('cache_control: openai has no cache_control, dropped');
          const text: string[] = [];
          for (const c of r.content) {
            if (c.type === 'text') text.push(c.text);
            else if (c.type === 'image') w.add('tool_result: openai tool messages cannot carry images, dropped');
            else w.add(`tool_result: a ${c.protocol} content block has no openai equivalent, dropped`);
          }
          if (r.isError) w.add('tool_result.is_error: openai has no error flag on tool messages, dropped');
          messages.push({ role: 'tool', tool_call_id: r.toolCallId, content: text.join('\n') });
        }
        break;
    }
  }
  const out: JsonObject = { model: options.model ?? ir.model, messages };
  if (ir.tools && ir.tools.length > 0) {
    out['tools'] = ir.tools.flatMap((t) => {
      if (t.type === 'provider') {
        if (t.protocol === 'openai') return [t.value];
        throw new TranslationError('tools', `a ${t.protocol}-hosted tool cannot be sent to an openai backend`);
      }
      if (t.cacheControl) w.add('cache_control: openai has no cache_control, dropped');
      const fn: JsonObject = { name: t.name };
      if (t.description !== undefined) fn['description'] = t.description;
      fn['parameters'] = t.parameters;
      if (t.strict !== undefined) fn['strict'] = t.strict;
      return [{ type: 'function', function: fn }];
    });
  }
  if (ir.toolChoice !== undefined) {
    out['tool_choice'] = typeof ir.toolChoice === 'string' ? ir.toolChoice : { type: 'function', function: { name: ir.toolChoice.name } };
  }
  if (ir.parallelToolCalls !== undefined) out['parallel_tool_calls'] = ir.parallelToolCalls;
  if (ir.responseFormat) {
    const rf = ir.responseFormat;
    if (rf.type === 'json_schema') {
      const js: JsonObject = { name: rf.name ?? 'response' };
      if (rf.description !== undefined) js['description'] = rf.description;
      js['schema'] = rf.schema;
      if (rf.strict !== undefined) js['strict'] = rf.strict;
      out['response_format'] = { type: 'json_schema', json_schema: js };
    } else {
      out['response_format'] = { type: rf.type };
    }
  }
  if (ir.maxTokens !== undefined) out['max_tokens'] = ir.maxTokens;
  if (ir.temperature !== undefined) out['temperature'] = ir.temperature;
  if (ir.topP !== undefined) out['top_p'] = ir.topP;
  if (ir.topK !== undefined) w.add('top_k: not supported by openai, dropped');
  if (ir.stop !== undefined) out['stop'] = ir.stop;
  if (ir.seed !== undefined) out['seed'] = ir.seed;
  if (ir.presencePenalty !== undefined) out['presence_penalty'] = ir.presencePenalty;
  if (ir.frequencyPenalty !== undefined) out['frequency_penalty'] = ir.frequencyPenalty;
  if (ir.thinking) reasoningOut(ir.thinking, out, w);
  if (ir.user !== undefined) out['user'] = ir.user;
  if (ir.metadata !== undefined) out['metadata'] = ir.metadata;
  out['stream'] = ir.stream;
  // Translated streams always settle on the provider's usage (CONTRACT §7.7): ask for it whatever the client asked.
  if (ir.stream) out['stream_options'] = { include_usage: true };
  if (ir.extra) {
    if (ir.extra.protocol === 'openai') {
      for (const [k, v] of Object.entries(ir.extra.fields)) if (!(k in out)) out[k] = v;
    } else {
      warnDroppedExtra(ir.extra.fields, 'openai', w);
    }
  }
  return { value: out, warnings: w.list() };
}

function systemContent(parts: IrTextPart[], w: Warnings): string {
  for (const p of parts) if (p.cacheControl) w.add('cache_control: openai has no cache_control, dropped');
  return parts.map((p) => p.text).join('\n\n');
}

function userPartOut(p: IrUserPart, w: Warnings): JsonObject {
  if ('cacheControl' in p && p.cacheControl) w.add('cache_control: openai has no cache_control, dropped');
  switch (p.type) {
    case 'text':
      return { type: 'text', text: p.text };
    case 'image': {
      const s = p.source;
      if (s.kind === 'file_id') throw new TranslationError('messages', 'image file ids cannot be sent to an openai backend');
      const img: JsonObject = { url: s.kind === 'url' ? s.url : toDataUrl(s.mediaType, s.data) };
      if (p.detail !== undefined) img['detail'] = p.detail;
      return { type: 'image_url', image_url: img };
    }
    case 'file':
      return fileOut(p);
    case 'native':
      if (p.protocol === 'openai' && isRecord(p.value)) return p.value;
      throw new TranslationError('messages', `a ${p.protocol} content block cannot be sent to an openai backend`);
  }
}

function fileOut(p: IrFilePart): JsonObject {
  const s = p.source;
  if (s.kind === 'base64' && s.mediaType.startsWith('audio/')) {
    return { type: 'input_audio', input_audio: { data: s.data, format: s.mediaType.slice(6) } };
  }
  if (s.kind === 'url') throw new TranslationError('messages', 'file URLs cannot be sent to an openai backend (use a data URL)');
  const file: JsonObject = s.kind === 'base64' ? { file_data: toDataUrl(s.mediaType, s.data) } : { file_id: s.fileId };
  if (p.filename !== undefined) file['filename'] = p.filename;
  return { type: 'file', file };
}

function assistantOut(parts: IrAssistantPart[], w: Warnings): JsonObject {
  const text: string[] = [];
  const toolCalls: JsonObject[] = [];
  for (const p of parts) {
    switch (p.type) {
      case 'text':
        if (p.cacheControl) w.add('cache_control: openai has no cache_control, dropped');
        text.push(p.text);
        break;
      case 'thinking':
      case 'redacted_thinking':
        w.add('thinking: openai does not accept reasoning in conversation history, dropped');
        break;
      case 'tool_call': {
        const tc: JsonObject = { id: p.id, type: 'function', function: { name: p.name, arguments: p.arguments } };
        if (p.signature !== undefined) tc['extra_content'] = { google: { thought_signature: p.signature } };
        toolCalls.push(tc);
        break;
      }
      case 'native':
        w.add(`messages: a ${p.protocol} content block has no openai equivalent, dropped`);
        break;
    }
  }
  const msg: JsonObject = { role: 'assistant', content: text.length > 0 ? text.join('') : null };
  if (toolCalls.length > 0) msg['tool_calls'] = toolCalls;
  return msg;
}

/** Budget → effort thresholds for providers that only take an effort level. */
function reasoningOut(t: IrThinking, out: JsonObject, w: Warnings): void {
  if (t.type === 'disabled') {
    w.add('thinking: openai cannot disable reasoning, dropped');
    return;
  }
  if (t.effort !== undefined) {
    out['reasoning_effort'] = t.effort;
    return;
  }
  if (t.budgetTokens !== undefined) {
    const effort = t.budgetTokens <= 2048 ? 'low' : t.budgetTokens <= 12288 ? 'medium' : 'high';
    out['reasoning_effort'] = effort;
    w.add(`thinking.budget_tokens: openai takes an effort level, sent reasoning_effort=${effort}`);
  }
}
