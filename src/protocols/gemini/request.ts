/**
 * Gemini `generateContent` request ⇄ IR.
 *
 * Tools and JSON output are written with `parametersJsonSchema` / `responseJsonSchema`, which take JSON Schema as is,
 * so nothing in a client's schema is dropped on the way (the older `parameters` / `responseSchema` take an OpenAPI
 * subset; they are still read). Gemini function calls usually carry no id: ids are derived from positions, and
 * `functionResponse` parts are matched to calls by name, in order.
 *
 * @see https://ai.google.dev/api/generate-content#request-body
 * @see https://ai.google.dev/gemini-api/docs/function-calling
 */
import {
  TranslationError,
  type Converted, type IrAssistantPart, type IrMessage, type IrReasoningEffort, type IrRequest, type IrTextPart,
  type IrThinking, type IrTool, type IrToolResultPart, type IrUserPart,
} from '../ir.js';
import { compact, EFFORT_BUDGET, extraFields, isRecord, parseOrThrow, tryParseJson, Warnings, warnDroppedExtra, type JsonObject } from '../util.js';
import { GenerateRequest, normalizeRequest, type Part } from './wire.js';

const KNOWN = new Set(['contents', 'systemInstruction', 'tools', 'toolConfig', 'generationConfig']);
const KNOWN_GEN = new Set([
  'temperature', 'topP', 'topK', 'maxOutputTokens', 'stopSequences', 'candidateCount', 'seed', 'presencePenalty',
  'frequencyPenalty', 'responseMimeType', 'responseSchema', 'responseJsonSchema', 'thinkingConfig',
]);
const LEVELS: ReadonlySet<string> = new Set(['minimal', 'low', 'medium', 'high']);

/** Options for {@link toIr}: what Gemini carries in the URL rather than the body. */
export interface ToIrOptions {
  model: string;
  stream: boolean;
}

/** Converts an OpenAPI-subset schema (`type: "OBJECT"`, `nullable`) to JSON Schema. */
export function openApiToJsonSchema(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(openApiToJsonSchema);
  if (!isRecord(s)) return s;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'nullable') continue;
    if (k === 'type' && typeof v === 'string') out[k] = v.toLowerCase();
    else if (k === 'properties' && isRecord(v)) {
      const props: JsonObject = {};
      for (const [pk, pv] of Object.entries(v)) props[pk] = openApiToJsonSchema(pv);
      out[k] = props;
    } else if (k === 'items' || k === 'anyOf') out[k] = openApiToJsonSchema(v);
    else out[k] = v;
  }
  if (s['nullable'] === true && typeof out['type'] === 'string') out['type'] = [out['type'], 'null'];
  return out;
}

/** Reads a `functionResponse.response` back into tool-result text (`{output}` / `{error}` unwrapped). */
function responseText(response: JsonObject | undefined): { text: string; isError: boolean } {
  const r = response ?? {};
  const keys = Object.keys(r);
  if (keys.length === 1 && typeof r['output'] === 'string') return { text: r['output'], isError: false };
  if (keys.length === 1 && typeof r['error'] === 'string') return { text: r['error'], isError: true };
  return { text: JSON.stringify(r), isError: false };
}

/** Parses a Gemini request body into the IR. Throws {@link TranslationError} when malformed. */
export function toIr(body: unknown, options: ToIrOptions): Converted<IrRequest> {
  const w = new Warnings();
  const req = parseOrThrow(GenerateRequest, normalizeRequest(body), 'generateContent request');
  const system: IrTextPart[] = (req.systemInstruction?.parts ?? []).flatMap((p) => typeof p.text === 'string' && p.text !== '' ? [{ type: 'text' as const, text: p.text }] : []);
  const messages: IrMessage[] = [];
  /** Calls of the latest model turn not yet answered, for matching `functionResponse` parts without an id. */
  let pending: Array<{ id: string; name: string }> = [];

  req.contents.forEach((c, i) => {
    const parts = c.parts ?? [];
    if (c.role === 'model') {
      pending = [];
      const out: IrAssistantPart[] = [];
      parts.forEach((p, j) => {
        const sig = p.thoughtSignature;
        if (p.functionCall) {
          const id = p.functionCall.id ?? `call_${i}_${j}`;
          pending.push({ id, name: p.functionCall.name });
          out.push(compact({ type: 'tool_call' as const, id, name: p.functionCall.name, arguments: JSON.stringify(p.functionCall.args ?? {}), signature: sig }));
        } else if (typeof p.text === 'string') {
          if (p.thought === true) out.push(compact({ type: 'thinking' as const, text: p.text, signature: sig }));
          else if (p.text !== '' || sig !== undefined) out.push(compact({ type: 'text' as const, text: p.text, signature: sig }));
        } else if (sig !== undefined && Object.keys(p).length === 1) {
          out.push({ type: 'thinking', text: '', signature: sig });
        } else if (Object.keys(p).length > 0) {
          out.push({ type: 'native', protocol: 'gemini', value: p });
        }
      });
      if (out.length > 0) messages.push({ role: 'assistant', content: out });
      return;
    }
    const results: IrToolResultPart[] = [];
    const user: IrUserPart[] = [];
    for (const p of parts) {
      if (p.functionResponse) {
        const fr = p.functionResponse;
        let id = fr.id;
        const k = pending.findIndex((c2) => id !== undefined ? c2.id === id : c2.name === fr.name);
        if (k >= 0) {
          id ??= pending[k]?.id;
          pending.splice(k, 1);
        }
        const { text, isError } = responseText(fr.response);
        const r: IrToolResultPart = { type: 'tool_result', toolCallId: id ?? `call_${fr.name}`, name: fr.name, content: [{ type: 'text', text }] };
        if (isError) r.isError = true;
        results.push(r);
      } else {
        const u = userPart(p);
        if (u) user.push(u);
      }
    }
    if (results.length > 0) messages.push({ role: 'tool', content: results });
    if (user.length > 0) messages.push({ role: 'user', content: user });
  });

  const ir: IrRequest = { model: options.model, system, messages, stream: options.stream };
  const extra = extraFields(req, KNOWN) ?? {};
  const tools: IrTool[] = [];
  for (const t of req.tools ?? []) {
    for (const d of t.functionDeclarations ?? []) {
      const params = d.parametersJsonSchema ?? (d.parameters ? openApiToJsonSchema(d.parameters) : undefined);
      tools.push(compact({
        type: 'function' as const,
        name: d.name,
        description: d.description,
        parameters: isRecord(params) ? params : { type: 'object', properties: {} },
      }));
    }
    const { functionDeclarations: _fd, ...rest } = t;
    if (Object.keys(rest).length > 0) tools.push({ type: 'provider', protocol: 'gemini', value: rest });
  }
  if (tools.length > 0) ir.tools = tools;
  const fcc = req.toolConfig?.functionCallingConfig;
  if (fcc?.mode !== undefined) {
    const names = fcc.allowedFunctionNames ?? [];
    switch (fcc.mode) {
      case 'AUTO': ir.toolChoice = 'auto'; break;
      case 'NONE': ir.toolChoice = 'none'; break;
      case 'ANY':
        if (names.length > 1) w.add('toolConfig.functionCallingConfig.allowedFunctionNames: only the first name is kept');
        ir.toolChoice = names[0] !== undefined ? { name: names[0] } : 'required';
        break;
      case 'MODE_UNSPECIFIED': break;
      default:
        throw new TranslationError('toolConfig.functionCallingConfig.mode', `unsupported function calling mode '${fcc.mode}'`);
    }
  }
  const g = req.generationConfig;
  if (g) {
    if (g.candidateCount !== undefined && g.candidateCount !== 1) {
      throw new TranslationError('generationConfig.candidateCount', 'candidateCount > 1 is not supported through protocol translation');
    }
    if (g.temperature !== undefined) ir.temperature = g.temperature;
    if (g.topP !== undefined) ir.topP = g.topP;
    if (g.topK !== undefined) ir.topK = g.topK;
    if (g.maxOutputTokens !== undefined) ir.maxTokens = g.maxOutputTokens;
    if (g.stopSequences !== undefined) ir.stop = g.stopSequences;
    if (g.seed !== undefined) ir.seed = g.seed;
    if (g.presencePenalty !== undefined) ir.presencePenalty = g.presencePenalty;
    if (g.frequencyPenalty !== undefined) ir.frequencyPenalty = g.frequencyPenalty;
    const schema = g.responseJsonSchema ?? (g.responseSchema ? openApiToJsonSchema(g.responseSchema) : undefined);
    if (g.responseMimeType === 'application/json') {
      ir.responseFormat = isRecord(schema) ? { type: 'json_schema', schema } : { type: 'json_object' };
    } else if (g.responseMimeType !== undefined && g.responseMimeType !== 'text/plain') {
      throw new TranslationError('generationConfig.responseMimeType', `unsupported responseMimeType '${g.responseMimeType}'`);
    }
    const tc = g.thinkingConfig;
    if (tc) {
      const level = tc.thinkingLevel?.toLowerCase();
      if (tc.thinkingBudget === 0) ir.thinking = { type: 'disabled' };
      else {
        const t: IrThinking = { type: 'enabled' };
        if (tc.thinkingBudget !== undefined && tc.thinkingBudget > 0) t.budgetTokens = tc.thinkingBudget;
        if (level !== undefined && LEVELS.has(level)) t.effort = level as IrReasoningEffort;
        if (tc.includeThoughts !== undefined) t.includeThoughts = tc.includeThoughts;
        ir.thinking = t;
      }
    }
    const restGen = extraFields(g, KNOWN_GEN);
    if (restGen) extra['generationConfig'] = restGen;
  }
  if (Object.keys(extra).length > 0) ir.extra = { protocol: 'gemini', fields: extra };
  return { value: ir, warnings: w.list() };
}

function userPart(p: Part): IrUserPart | undefined {
  if (typeof p.text === 'string') return p.text === '' ? undefined : { type: 'text', text: p.text };
  if (p.inlineData) {
    const { mimeType, data } = p.inlineData;
    const source = { kind: 'base64' as const, mediaType: mimeType, data };
    return mimeType.startsWith('image/') ? { type: 'image', source } : { type: 'file', source };
  }
  if (p.fileData) {
    const { mimeType, fileUri } = p.fileData;
    if (mimeType?.startsWith('image/')) return { type: 'image', source: { kind: 'url', url: fileUri } };
    return compact({ type: 'file' as const, source: { kind: 'url' as const, url: fileUri }, mediaType: mimeType });
  }
  return Object.keys(p).length > 0 ? { type: 'native', protocol: 'gemini', value: p } : undefined;
}

/** Options for {@link fromIr}. */
export interface FromIrOptions {
  /** Upstream model (after `model_map`); Gemini takes it in the URL, so it is not written into the body. */
  model?: string;
}

/** Renders the IR as a Gemini request body. Throws {@link TranslationError} for what Gemini cannot express. */
export function fromIr(ir: IrRequest, _options: FromIrOptions = {}): Converted<JsonObject> {
  const w = new Warnings();
  const cache = (p: { cacheControl?: unknown }): void => {
    if (p.cacheControl) w.add('cache_control: gemini has no inline cache hints, dropped');
  };
  const systemParts: JsonObject[] = [];
  for (const p of ir.system) {
    cache(p);
    systemParts.push({ text: p.text });
  }
  const contents: Array<{ role: 'user' | 'model'; parts: JsonObject[] }> = [];
  const push = (role: 'user' | 'model', parts: JsonObject[]): void => {
    if (parts.length === 0) return;
    const last = contents[contents.length - 1];
    if (last?.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };
  const callNames = new Map<string, string>();

  for (const m of ir.messages) {
    switch (m.role) {
      case 'system':
        w.add('messages: gemini has no mid-conversation system messages; moved into systemInstruction');
        for (const p of m.content) {
          cache(p);
          systemParts.push({ text: p.text });
        }
        break;
      case 'user':
        push('user', m.content.flatMap((p): JsonObject[] => {
          if (p.type !== 'native') cache(p);
          switch (p.type) {
            case 'text': return [{ text: p.text }];
            case 'image':
            case 'file': {
              if (p.type === 'image' && p.detail !== undefined) w.add('image_url.detail: not supported by gemini, dropped');
              const s = p.source;
              if (p.type === 'file' && p.filename !== undefined) w.add('file.filename: gemini has no file names, dropped');
              if (s.kind === 'base64') return [{ inlineData: { mimeType: s.mediaType, data: s.data } }];
              if (s.kind === 'file_id') throw new TranslationError('messages', 'file ids cannot be sent to a gemini backend');
              const mimeType = p.type === 'file' ? p.mediaType ?? guessMime(s.url) : guessMime(s.url);
              return [{ fileData: { mimeType, fileUri: s.url } }];
            }
            case 'native':
              if (p.protocol === 'gemini' && isRecord(p.value)) return [p.value];
              w.add(`messages: a ${p.protocol} content block has no gemini equivalent, dropped`);
              return [];
          }
        }));
        break;
      case 'tool':
        push('user', m.content.map((r) => {
          cache(r);
          const name = r.name ?? callNames.get(r.toolCallId);
          if (name === undefined) throw new TranslationError('messages', `tool result ${r.toolCallId} answers no earlier tool call`);
          const text: string[] = [];
          for (const c of r.content) {
            if (c.type === 'text') text.push(c.text);
            else w.add('tool_result: gemini function responses cannot carry images or other blocks, dropped');
          }
          const joined = text.join('\n');
          const parsed = r.isError ? undefined : tryParseJson(joined);
          const response = isRecord(parsed) ? parsed : r.isError ? { error: joined } : { output: joined };
          return { functionResponse: { name, response } };
        }));
        break;
      case 'assistant': {
        const parts: JsonObject[] = [];
        let carry: string | undefined;
        for (const p of m.content) {
          switch (p.type) {
            case 'text': {
              cache(p);
              const sig = p.signature ?? carry;
              carry = undefined;
              parts.push(sig !== undefined ? { text: p.text, thoughtSignature: sig } : { text: p.text });
              break;
            }
            case 'thinking':
              // Gemini does not take thoughts back. A bare signature (empty text) is Gemini's own thoughtSignature and
              // belongs on the next part; a signature on reasoning text is another provider's and is dropped with it.
              if (p.text !== '') w.add('thinking: gemini does not accept reasoning in conversation history, dropped');
              else if (p.signature !== undefined) carry = p.signature;
              break;
            case 'redacted_thinking':
              w.add('thinking: gemini does not accept reasoning in conversation history, dropped');
              break;
            case 'tool_call': {
              cache(p);
              callNames.set(p.id, p.name);
              const args = p.arguments.trim() === '' ? {} : tryParseJson(p.arguments);
              if (!isRecord(args)) throw new TranslationError('messages', `arguments of tool call ${p.id} are not a JSON object`);
              const sig = p.signature ?? carry;
              carry = undefined;
              const part: JsonObject = { functionCall: { name: p.name, args } };
              if (sig !== undefined) part['thoughtSignature'] = sig;
              parts.push(part);
              break;
            }
            case 'native':
              if (p.protocol === 'gemini' && isRecord(p.value)) parts.push(p.value);
              else w.add(`messages: a ${p.protocol} content block has no gemini equivalent, dropped`);
              break;
          }
        }
        push('model', parts);
        break;
      }
    }
  }

  const out: JsonObject = { contents };
  if (systemParts.length > 0) out['systemInstruction'] = { parts: systemParts };
  if (ir.tools && ir.tools.length > 0) {
    const decls: JsonObject[] = [];
    const tools: JsonObject[] = [];
    for (const t of ir.tools) {
      if (t.type === 'provider') {
        if (t.protocol === 'gemini' && isRecord(t.value)) tools.push(t.value);
        else throw new TranslationError('tools', `a ${t.protocol}-hosted tool cannot be sent to a gemini backend`);
        continue;
      }
      cache(t);
      if (t.strict !== undefined) w.add('tools.strict: gemini has no strict flag, dropped');
      const d: JsonObject = { name: t.name };
      if (t.description !== undefined) d['description'] = t.description;
      d['parametersJsonSchema'] = t.parameters;
      decls.push(d);
    }
    out['tools'] = decls.length > 0 ? [{ functionDeclarations: decls }, ...tools] : tools;
  }
  if (ir.toolChoice !== undefined) {
    const tc = ir.toolChoice;
    const fcc: JsonObject = typeof tc === 'object' ? { mode: 'ANY', allowedFunctionNames: [tc.name] }
      : { mode: tc === 'required' ? 'ANY' : tc === 'none' ? 'NONE' : 'AUTO' };
    out['toolConfig'] = { functionCallingConfig: fcc };
  }
  if (ir.parallelToolCalls === false) w.add('parallel_tool_calls: gemini cannot forbid parallel calls, dropped');

  const extra = ir.extra?.protocol === 'gemini' ? ir.extra.fields : undefined;
  const gen: JsonObject = isRecord(extra?.['generationConfig']) ? { ...extra['generationConfig'] } : {};
  if (ir.temperature !== undefined) gen['temperature'] = ir.temperature;
  if (ir.topP !== undefined) gen['topP'] = ir.topP;
  if (ir.topK !== undefined) gen['topK'] = ir.topK;
  if (ir.maxTokens !== undefined) gen['maxOutputTokens'] = ir.maxTokens;
  if (ir.stop !== undefined) gen['stopSequences'] = ir.stop;
  if (ir.seed !== undefined) gen['seed'] = ir.seed;
  if (ir.presencePenalty !== undefined) gen['presencePenalty'] = ir.presencePenalty;
  if (ir.frequencyPenalty !== undefined) gen['frequencyPenalty'] = ir.frequencyPenalty;
  if (ir.responseFormat) {
    const rf = ir.responseFormat;
    if (rf.type !== 'text') gen['responseMimeType'] = 'application/json';
    if (rf.type === 'json_schema') gen['responseJsonSchema'] = rf.schema;
  }
  if (ir.thinking) {
    const t = ir.thinking;
    gen['thinkingConfig'] = t.type === 'disabled'
      ? { thinkingBudget: 0 }
      : { thinkingBudget: t.budgetTokens ?? (t.effort !== undefined ? EFFORT_BUDGET[t.effort] : -1), includeThoughts: t.includeThoughts ?? true };
  }
  if (Object.keys(gen).length > 0) out['generationConfig'] = gen;
  if (ir.user !== undefined) w.add('user: not supported by gemini, dropped');
  if (ir.metadata !== undefined) w.add('metadata: not supported by gemini, dropped');
  if (ir.extra) {
    if (extra) {
      for (const [k, v] of Object.entries(extra)) if (!(k in out) && k !== 'generationConfig') out[k] = v;
    } else {
      warnDroppedExtra(ir.extra.fields, 'gemini', w);
    }
  }
  return { value: out, warnings: w.list() };
}

const MIME_BY_EXT: Readonly<Record<string, string>> = {
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', pdf: 'application/pdf',
};

/** Gemini `fileData` needs a MIME type; URLs from other protocols rarely state one. */
function guessMime(url: string): string {
  const path = url.split(/[?#]/)[0] ?? '';
  const ext = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
  return Object.hasOwn(MIME_BY_EXT, ext) ? MIME_BY_EXT[ext] ?? 'application/octet-stream' : 'application/octet-stream';
}
