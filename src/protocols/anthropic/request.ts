/**
 * Anthropic Messages request ⇄ IR. Thinking blocks keep their signatures and every block keeps its `cache_control`,
 * so an Anthropic request survives IR → Anthropic unchanged; block types the IR does not model travel as `native`.
 *
 * @see https://docs.anthropic.com/en/api/messages
 */
import type { z } from 'zod';
import {
  TranslationError,
  type Converted, type IrAssistantPart, type IrFilePart, type IrImagePart, type IrMediaSource, type IrMessage,
  type IrNativePart, type IrRequest, type IrTextPart, type IrTool, type IrToolResultPart, type IrUserPart,
} from '../ir.js';
import {
  base64ToText, compact, EFFORT_BUDGET, extraFields, formatPath, isRecord, parseOrThrow, readCacheControl,
  tryParseJson, Warnings, warnDroppedExtra, writeCacheControl, type JsonObject,
} from '../util.js';
import {
  DocumentBlock, ImageBlock, MessagesRequest, RedactedThinkingBlock, TextBlock, ThinkingBlock, ToolResultBlock,
  ToolUseBlock,
} from './wire.js';

const KNOWN = new Set([
  'model', 'messages', 'system', 'max_tokens', 'metadata', 'stop_sequences', 'stream', 'temperature', 'top_p', 'top_k',
  'tools', 'tool_choice', 'thinking', 'output_config',
]);

/** Parses `value` at `path` with `schema`, or throws a {@link TranslationError} naming the exact parameter. */
function parseAt<S extends z.ZodType>(schema: S, value: unknown, path: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const sub = issue ? formatPath(issue.path) : '';
  const param = sub === '' ? path : sub.startsWith('[') ? `${path}${sub}` : `${path}.${sub}`;
  throw new TranslationError(param, `invalid messages request at ${param}: ${issue?.message ?? 'invalid'}`);
}

function native(value: unknown): IrNativePart {
  return { type: 'native', protocol: 'anthropic', value };
}

function textPart(b: TextBlock): IrTextPart {
  const p: IrTextPart = { type: 'text', text: b.text };
  const cc = readCacheControl(b.cache_control);
  if (cc) p.cacheControl = cc;
  return p;
}

function mediaSource(s: ImageBlock['source']): IrMediaSource {
  switch (s.type) {
    case 'base64': return { kind: 'base64', mediaType: s.media_type, data: s.data };
    case 'url': return { kind: 'url', url: s.url };
    case 'file': return { kind: 'file_id', fileId: s.file_id };
  }
}

function imagePart(b: ImageBlock): IrImagePart {
  const p: IrImagePart = { type: 'image', source: mediaSource(b.source) };
  const cc = readCacheControl(b.cache_control);
  if (cc) p.cacheControl = cc;
  return p;
}

function documentPart(b: DocumentBlock, raw: unknown): IrFilePart | IrNativePart {
  const s = b.source;
  // Text-source documents (and documents using citations or context) have no IR equivalent.
  if (s.type === 'text' || isRecord(raw) && (raw['citations'] !== undefined || raw['context'] !== undefined)) return native(raw);
  const p: IrFilePart = { type: 'file', source: mediaSource(s) };
  if (typeof b.title === 'string') p.filename = b.title;
  const cc = readCacheControl(b.cache_control);
  if (cc) p.cacheControl = cc;
  return p;
}

function toolResultPart(raw: unknown, path: string): IrToolResultPart {
  const b = parseAt(ToolResultBlock, raw, path);
  const content: IrToolResultPart['content'] = [];
  if (typeof b.content === 'string') content.push({ type: 'text', text: b.content });
  else {
    (b.content ?? []).forEach((c, k) => {
      if (c.type === 'text') content.push(textPart(parseAt(TextBlock, c, `${path}.content[${k}]`)));
      else if (c.type === 'image') content.push(imagePart(parseAt(ImageBlock, c, `${path}.content[${k}]`)));
      else content.push(native(c));
    });
  }
  const p: IrToolResultPart = { type: 'tool_result', toolCallId: b.tool_use_id, content };
  if (b.is_error !== undefined) p.isError = b.is_error;
  const cc = readCacheControl(b.cache_control);
  if (cc) p.cacheControl = cc;
  return p;
}

/** Parses an Anthropic request body into the IR. Throws {@link TranslationError} when malformed. */
export function toIr(body: unknown): Converted<IrRequest> {
  const req = parseOrThrow(MessagesRequest, body, 'messages request');
  const system: IrTextPart[] = typeof req.system === 'string' ? [{ type: 'text', text: req.system }] : (req.system ?? []).map(textPart);
  const messages: IrMessage[] = [];
  req.messages.forEach((m, i) => {
    const blocks = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content;
    if (m.role === 'assistant') {
      const parts: IrAssistantPart[] = blocks.map((raw, j) => {
        const path = `messages[${i}].content[${j}]`;
        switch (raw.type) {
          case 'text': return textPart(parseAt(TextBlock, raw, path));
          case 'thinking': {
            const b = parseAt(ThinkingBlock, raw, path);
            return compact({ type: 'thinking' as const, text: b.thinking, signature: b.signature || undefined });
          }
          case 'redacted_thinking': return { type: 'redacted_thinking', data: parseAt(RedactedThinkingBlock, raw, path).data };
          case 'tool_use': {
            const b = parseAt(ToolUseBlock, raw, path);
            const p: IrAssistantPart = { type: 'tool_call', id: b.id, name: b.name, arguments: JSON.stringify(b.input ?? {}) };
            const cc = readCacheControl(b.cache_control);
            if (cc) p.cacheControl = cc;
            return p;
          }
          default: return native(raw);
        }
      });
      messages.push({ role: 'assistant', content: parts });
      return;
    }
    const results: IrToolResultPart[] = [];
    const parts: IrUserPart[] = [];
    blocks.forEach((raw, j) => {
      const path = `messages[${i}].content[${j}]`;
      switch (raw.type) {
        case 'text': parts.push(textPart(parseAt(TextBlock, raw, path))); break;
        case 'image': parts.push(imagePart(parseAt(ImageBlock, raw, path))); break;
        case 'document': parts.push(documentPart(parseAt(DocumentBlock, raw, path), raw)); break;
        case 'tool_result': results.push(toolResultPart(raw, path)); break;
        default: parts.push(native(raw));
      }
    });
    if (results.length > 0) messages.push({ role: 'tool', content: results });
    if (parts.length > 0 || results.length === 0) messages.push({ role: 'user', content: parts });
  });

  const ir: IrRequest = { model: req.model, system, messages, stream: req.stream === true };
  const extra = extraFields(req, KNOWN) ?? {};
  if (req.tools && req.tools.length > 0) {
    ir.tools = req.tools.map((t, k): IrTool => {
      if (t.type !== undefined && t.type !== 'custom') return { type: 'provider', protocol: 'anthropic', value: req.tools?.[k] };
      const tool = compact({
        type: 'function' as const,
        name: t.name,
        description: t.description,
        parameters: t.input_schema ?? { type: 'object', properties: {} },
        strict: t.strict,
        cacheControl: readCacheControl(t.cache_control),
      });
      return tool;
    });
  }
  if (req.tool_choice) {
    const tc = req.tool_choice;
    switch (tc.type) {
      case 'auto': ir.toolChoice = 'auto'; break;
      case 'any': ir.toolChoice = 'required'; break;
      case 'none': ir.toolChoice = 'none'; break;
      case 'tool':
        if (tc.name === undefined) throw new TranslationError('tool_choice.name', 'tool_choice of type tool needs a name');
        ir.toolChoice = { name: tc.name };
        break;
    }
    if (tc.disable_parallel_tool_use === true) ir.parallelToolCalls = false;
  }
  if (req.max_tokens !== undefined) ir.maxTokens = req.max_tokens;
  if (req.temperature !== undefined) ir.temperature = req.temperature;
  if (req.top_p !== undefined) ir.topP = req.top_p;
  if (req.top_k !== undefined) ir.topK = req.top_k;
  if (req.stop_sequences !== undefined) ir.stop = req.stop_sequences;
  if (req.thinking) {
    const t = req.thinking;
    if (t.type === 'enabled') ir.thinking = t.budget_tokens === undefined ? { type: 'enabled' } : { type: 'enabled', budgetTokens: t.budget_tokens };
    else if (t.type === 'disabled') ir.thinking = { type: 'disabled' };
    else extra['thinking'] = t;
  }
  if (req.output_config) {
    const { format, ...rest } = req.output_config;
    if (format) ir.responseFormat = { type: 'json_schema', schema: format.schema };
    if (Object.keys(rest).length > 0) extra['output_config'] = rest;
  }
  if (req.metadata) {
    const { user_id, ...rest } = req.metadata;
    if (typeof user_id === 'string') ir.user = user_id;
    const meta: Record<string, string> = {};
    for (const [k, v] of Object.entries(rest)) if (typeof v === 'string') meta[k] = v;
    if (Object.keys(meta).length > 0) ir.metadata = meta;
  }
  if (Object.keys(extra).length > 0) ir.extra = { protocol: 'anthropic', fields: extra };
  return { value: ir, warnings: [] };
}

/** Options for {@link fromIr}. */
export interface FromIrOptions {
  /** Upstream model name (after `model_map`); defaults to `ir.model`. */
  model?: string;
  /** `max_tokens` when the IR has none (Anthropic requires it); default 4096. Using it is reported as a warning. */
  defaultMaxTokens?: number;
}

/** Renders the IR as an Anthropic request body. Throws {@link TranslationError} for what Anthropic cannot express. */
export function fromIr(ir: IrRequest, options: FromIrOptions = {}): Converted<JsonObject> {
  const w = new Warnings();
  const system: JsonObject[] = ir.system.map(textOut);
  const messages: Array<{ role: 'user' | 'assistant'; content: JsonObject[] }> = [];
  const push = (role: 'user' | 'assistant', blocks: JsonObject[]): void => {
    if (blocks.length === 0) return;
    const last = messages[messages.length - 1];
    // Anthropic wants alternating turns: tool results and the user's next words share one user message.
    if (last?.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  for (const m of ir.messages) {
    switch (m.role) {
      case 'system':
        w.add('messages: anthropic has no mid-conversation system messages; moved into system');
        system.push(...m.content.map(textOut));
        break;
      case 'user':
        push('user', m.content.flatMap((p) => userBlock(p, w)));
        break;
      case 'tool':
        push('user', m.content.map((r) => toolResultOut(r, w)));
        break;
      case 'assistant':
        push('assistant', m.content.flatMap((p) => assistantBlock(p, w)));
        break;
    }
  }

  const out: JsonObject = { model: options.model ?? ir.model };
  let maxTokens = ir.maxTokens;
  const budget = ir.thinking?.type === 'enabled' ? ir.thinking.budgetTokens ?? EFFORT_BUDGET[ir.thinking.effort ?? 'low'] : undefined;
  if (maxTokens === undefined) {
    const def = options.defaultMaxTokens ?? 4096;
    maxTokens = budget !== undefined && budget >= def ? budget + def : def;
    w.add(`max_tokens: anthropic requires it; sent max_tokens=${maxTokens}`);
  }
  out['max_tokens'] = maxTokens;
  if (system.length > 0) out['system'] = system;
  out['messages'] = messages;
  if (ir.tools && ir.tools.length > 0) out['tools'] = ir.tools.map(toolOut);
  if (ir.toolChoice !== undefined || ir.parallelToolCalls === false) {
    const tc = ir.toolChoice ?? 'auto';
    const choice: JsonObject = typeof tc === 'object' ? { type: 'tool', name: tc.name }
      : { type: tc === 'required' ? 'any' : tc };
    if (ir.parallelToolCalls === false && tc !== 'none') choice['disable_parallel_tool_use'] = true;
    out['tool_choice'] = choice;
  }
  if (ir.temperature !== undefined) out['temperature'] = ir.temperature;
  if (ir.topP !== undefined) out['top_p'] = ir.topP;
  if (ir.topK !== undefined) out['top_k'] = ir.topK;
  if (ir.stop !== undefined) out['stop_sequences'] = ir.stop;
  if (ir.seed !== undefined) w.add('seed: not supported by anthropic, dropped');
  if (ir.presencePenalty !== undefined) w.add('presence_penalty: not supported by anthropic, dropped');
  if (ir.frequencyPenalty !== undefined) w.add('frequency_penalty: not supported by anthropic, dropped');
  if (ir.thinking) out['thinking'] = ir.thinking.type === 'disabled' ? { type: 'disabled' } : { type: 'enabled', budget_tokens: budget };
  const extra = ir.extra?.protocol === 'anthropic' ? ir.extra.fields : undefined;
  if (ir.responseFormat) {
    const rf = ir.responseFormat;
    if (rf.type === 'json_schema') {
      const base = isRecord(extra?.['output_config']) ? extra['output_config'] : {};
      out['output_config'] = { ...base, format: { type: 'json_schema', schema: rf.schema } };
    } else if (rf.type === 'json_object') {
      w.add('response_format: anthropic has no JSON mode without a schema, dropped');
    }
  }
  const metadata: JsonObject = {};
  if (ir.user !== undefined) metadata['user_id'] = ir.user;
  if (ir.metadata !== undefined) w.add('metadata: anthropic accepts only metadata.user_id, other keys dropped');
  if (Object.keys(metadata).length > 0) out['metadata'] = metadata;
  out['stream'] = ir.stream;
  if (ir.extra) {
    if (extra) {
      for (const [k, v] of Object.entries(extra)) if (!(k in out)) out[k] = v;
    } else {
      warnDroppedExtra(ir.extra.fields, 'anthropic', w);
    }
  }
  return { value: out, warnings: w.list() };
}

function withCache(block: JsonObject, p: { cacheControl?: IrTextPart['cacheControl'] }): JsonObject {
  if (p.cacheControl) block['cache_control'] = writeCacheControl(p.cacheControl);
  return block;
}

function textOut(p: IrTextPart): JsonObject {
  return withCache({ type: 'text', text: p.text }, p);
}

function sourceOut(s: IrMediaSource): JsonObject {
  switch (s.kind) {
    case 'base64': return { type: 'base64', media_type: s.mediaType, data: s.data };
    case 'url': return { type: 'url', url: s.url };
    case 'file_id': return { type: 'file', file_id: s.fileId };
  }
}

function imageOut(p: IrImagePart, w: Warnings): JsonObject {
  if (p.detail !== undefined) w.add('image_url.detail: not supported by anthropic, dropped');
  return withCache({ type: 'image', source: sourceOut(p.source) }, p);
}

function fileOut(p: IrFilePart): JsonObject {
  const s = p.source;
  let source: JsonObject;
  if (s.kind === 'base64' && s.mediaType === 'text/plain') {
    source = { type: 'text', media_type: 'text/plain', data: base64ToText(s.data) };
  } else if (s.kind === 'base64' && s.mediaType !== 'application/pdf') {
    throw new TranslationError('messages', `anthropic does not accept ${s.mediaType} input`);
  } else {
    source = sourceOut(s);
  }
  const block: JsonObject = { type: 'document', source };
  if (p.filename !== undefined) block['title'] = p.filename;
  return withCache(block, p);
}

function nativeOut(p: IrNativePart, w: Warnings): JsonObject[] {
  if (p.protocol === 'anthropic' && isRecord(p.value)) return [p.value];
  w.add(`messages: a ${p.protocol} content block has no anthropic equivalent, dropped`);
  return [];
}

function userBlock(p: IrUserPart, w: Warnings): JsonObject[] {
  switch (p.type) {
    case 'text': return [textOut(p)];
    case 'image': return [imageOut(p, w)];
    case 'file': return [fileOut(p)];
    case 'native': return nativeOut(p, w);
  }
}

function toolResultOut(r: IrToolResultPart, w: Warnings): JsonObject {
  const content = r.content.flatMap((c) => c.type === 'text' ? [textOut(c)] : c.type === 'image' ? [imageOut(c, w)] : nativeOut(c, w));
  const block: JsonObject = { type: 'tool_result', tool_use_id: r.toolCallId, content };
  if (r.isError !== undefined) block['is_error'] = r.isError;
  return withCache(block, r);
}

function assistantBlock(p: IrAssistantPart, w: Warnings): JsonObject[] {
  switch (p.type) {
    case 'text':
      return p.text === '' ? [] : [textOut(p)];
    case 'thinking':
      // An empty thinking text with a signature is Gemini's bare thoughtSignature: not valid for Anthropic.
      if (p.signature === undefined || p.text === '') {
        w.add('thinking: anthropic requires a signature on thinking blocks in history; unsigned reasoning dropped');
        return [];
      }
      return [{ type: 'thinking', thinking: p.text, signature: p.signature }];
    case 'redacted_thinking':
      return [{ type: 'redacted_thinking', data: p.data }];
    case 'tool_call': {
      const input = p.arguments.trim() === '' ? {} : tryParseJson(p.arguments);
      if (!isRecord(input)) {
        throw new TranslationError('messages', `arguments of tool call ${p.id} are not a JSON object`);
      }
      return [withCache({ type: 'tool_use', id: p.id, name: p.name, input }, p)];
    }
    case 'native':
      return nativeOut(p, w);
  }
}

function toolOut(t: IrTool): JsonObject {
  if (t.type === 'provider') {
    if (t.protocol === 'anthropic' && isRecord(t.value)) return t.value;
    throw new TranslationError('tools', `a ${t.protocol}-hosted tool cannot be sent to an anthropic backend`);
  }
  const tool: JsonObject = { name: t.name };
  if (t.description !== undefined) tool['description'] = t.description;
  tool['input_schema'] = t.parameters;
  if (t.strict !== undefined) tool['strict'] = t.strict;
  return withCache(tool, t);
}
