import type { Readable } from 'node:stream';
import { GatewayError } from '../errors/gateway-error.js';
import {
  PROTOCOLS, TranslationError,
  type IrFinish, type IrResponse, type IrStreamEvent, type IrUsage, type StreamEncoder,
} from '../protocols/index.js';
import { isRecord, tryParseJson, type JsonObject } from '../protocols/util.js';
import type { UpstreamResponse } from '../upstream/types.js';
import type { ResponseConverter } from './types.js';
import { convertStream, convertedHeaders, isEventStream, MAX_CONVERTED_BODY_BYTES, readBodyCapped } from './convert.js';

/** Statuses on `POST /v1/responses` that mean "this upstream has no Responses API" (CONTRACT §3.5). */
export const SHIM_STATUSES: ReadonlySet<number> = new Set([404, 405, 501]);

/** The reply header naming the shim. */
export const SHIM_HEADER = 'x-ditto-shim';
export const SHIM_VALUE = 'responses_via_chat_completions';

/** Chat-completions answers to a shimmed request, with the converter that turns each into the Responses shape. */
const shimmed = new WeakMap<UpstreamResponse, ResponseConverter>();

/** Remember that `up` answers a shimmed request and must be converted with `convert` before it is relayed. */
export function markShimmed(up: UpstreamResponse, convert: ResponseConverter): UpstreamResponse {
  shimmed.set(up, convert);
  return up;
}

/** The converter for a shimmed answer, or undefined for any other answer. */
export function shimConverter(up: UpstreamResponse): ResponseConverter | undefined {
  return shimmed.get(up);
}

/** Most tool calls one shimmed stream tracks. */
const MAX_TOOL_SLOTS = 32;

function invalid(message: string): GatewayError {
  return new GatewayError('invalid_responses_request', `cannot map this /v1/responses request onto chat completions: ${message}`);
}

/** A Responses content part → a chat content part (CONTRACT §3.5). */
function partToChat(p: unknown): JsonObject {
  if (typeof p === 'string') return { type: 'text', text: p };
  if (!isRecord(p)) throw invalid('a content part is not an object');
  switch (p['type']) {
    case 'input_text':
    case 'output_text':
    case 'text':
      if (typeof p['text'] !== 'string') throw invalid(`a ${String(p['type'])} part has no text`);
      return { type: 'text', text: p['text'] };
    case 'input_image':
    case 'image_url': {
      const v = p['image_url'];
      const url = typeof v === 'string' ? v : isRecord(v) && typeof v['url'] === 'string' ? v['url'] : undefined;
      if (url === undefined) throw invalid('an image part has no image_url');
      const img: JsonObject = { url };
      if (typeof p['detail'] === 'string') img['detail'] = p['detail'];
      return { type: 'image_url', image_url: img };
    }
    case 'input_file':
    case 'file': {
      const src = isRecord(p['file']) ? p['file'] : p;
      const file: JsonObject = {};
      if (typeof src['file_id'] === 'string') file['file_id'] = src['file_id'];
      else if (typeof src['file_data'] === 'string') file['file_data'] = src['file_data'];
      else throw invalid('a file part needs file_id or file_data');
      if (typeof src['filename'] === 'string') file['filename'] = src['filename'];
      return { type: 'file', file };
    }
    default:
      throw invalid(`unsupported content part type ${JSON.stringify(p['type'])}`);
  }
}

/** One Responses input item → chat messages appended to `out`. */
function itemToChat(item: unknown, out: JsonObject[]): void {
  if (typeof item === 'string') {
    out.push({ role: 'user', content: item });
    return;
  }
  if (!isRecord(item)) throw invalid('an input item is not an object');
  const type = item['type'];
  if (type === 'function_call') {
    if (typeof item['call_id'] !== 'string' || typeof item['name'] !== 'string') throw invalid('a function_call item needs call_id and name');
    const call = { id: item['call_id'], type: 'function', function: { name: item['name'], arguments: typeof item['arguments'] === 'string' ? item['arguments'] : '{}' } };
    const last = out[out.length - 1];
    if (last && last['role'] === 'assistant' && Array.isArray(last['tool_calls'])) (last['tool_calls'] as unknown[]).push(call);
    else out.push({ role: 'assistant', content: null, tool_calls: [call] });
    return;
  }
  if (type === 'function_call_output') {
    if (typeof item['call_id'] !== 'string') throw invalid('a function_call_output item needs call_id');
    const o = item['output'];
    out.push({ role: 'tool', tool_call_id: item['call_id'], content: typeof o === 'string' ? o : JSON.stringify(o ?? '') });
    return;
  }
  if (type !== undefined && type !== 'message') throw invalid(`unsupported input item type ${JSON.stringify(type)}`);
  const role = item['role'];
  if (typeof role !== 'string' || role === '') throw invalid('an input message has no role');
  const content = item['content'];
  if (typeof content === 'string') out.push({ role, content });
  else if (Array.isArray(content)) out.push({ role, content: content.map(partToChat) });
  else throw invalid('an input message has no content');
}

/** Responses function tools are flat (`{type,name,parameters}`); chat nests them under `function`. */
function toolToChat(t: unknown): unknown {
  if (!isRecord(t) || t['type'] !== 'function' || isRecord(t['function'])) return t;
  const fn: JsonObject = { name: t['name'] };
  if (t['description'] !== undefined) fn['description'] = t['description'];
  if (t['parameters'] !== undefined) fn['parameters'] = t['parameters'];
  if (t['strict'] !== undefined) fn['strict'] = t['strict'];
  return { type: 'function', function: fn };
}

function toolChoiceToChat(c: unknown): unknown {
  if (isRecord(c) && c['type'] === 'function' && typeof c['name'] === 'string' && !isRecord(c['function'])) {
    return { type: 'function', function: { name: c['name'] } };
  }
  return c;
}

/**
 * Maps a `/v1/responses` body onto a `/v1/chat/completions` body (CONTRACT §3.5). Throws 502
 * `invalid_responses_request` for what chat completions cannot carry (`file_url`, unknown parts, no messages).
 */
export function responsesToChat(body: JsonObject): JsonObject {
  if (JSON.stringify(body).includes('"file_url"')) throw invalid('file_url inputs are not supported by chat completions');
  const out: JsonObject = {};
  for (const k of ['model', 'temperature', 'top_p', 'service_tier', 'response_format']) if (body[k] !== undefined) out[k] = body[k];
  if (Array.isArray(body['tools'])) out['tools'] = body['tools'].map(toolToChat);
  if (body['tool_choice'] !== undefined) out['tool_choice'] = toolChoiceToChat(body['tool_choice']);
  const text = body['text'];
  if (out['response_format'] === undefined && isRecord(text) && isRecord(text['format'])) {
    const f = text['format'];
    if (f['type'] === 'json_schema') {
      const js: JsonObject = { name: typeof f['name'] === 'string' ? f['name'] : 'response', schema: f['schema'] ?? { type: 'object' } };
      if (f['description'] !== undefined) js['description'] = f['description'];
      if (f['strict'] !== undefined) js['strict'] = f['strict'];
      out['response_format'] = { type: 'json_schema', json_schema: js };
    } else if (f['type'] === 'json_object') {
      out['response_format'] = { type: 'json_object' };
    }
  }
  if (body['max_output_tokens'] !== undefined) out['max_tokens'] = body['max_output_tokens'];
  const messages: JsonObject[] = [];
  if (typeof body['instructions'] === 'string' && body['instructions'] !== '') messages.push({ role: 'system', content: body['instructions'] });
  const input = body['input'];
  if (input === undefined) {
    if (Array.isArray(body['messages'])) for (const m of body['messages']) if (isRecord(m)) messages.push(m);
  } else if (typeof input === 'string') {
    messages.push({ role: 'user', content: input });
  } else if (Array.isArray(input)) {
    for (const item of input) itemToChat(item, messages);
  } else {
    itemToChat(input, messages);
  }
  if (messages.length === 0) throw invalid('no messages');
  out['messages'] = messages;
  if (body['stream'] === true) {
    out['stream'] = true;
    const so = isRecord(body['stream_options']) ? body['stream_options'] : {};
    out['stream_options'] = { ...so, include_usage: true };
  }
  return out;
}

function usageOut(u: IrUsage | undefined): JsonObject | undefined {
  if (!u) return undefined;
  const input = u.inputTokens.total ?? 0;
  const output = u.outputTokens.total ?? 0;
  return { input_tokens: input, output_tokens: output, total_tokens: input + output };
}

/** `completed`, or `incomplete` with its reason (CONTRACT §3.5). */
function statusOf(finish: IrFinish): { status: string; incomplete_details?: JsonObject } {
  if (finish.reason === 'length') return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  if (finish.reason === 'content_filter') return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  return { status: 'completed' };
}

function messageItem(id: string, text: string): JsonObject {
  return { type: 'message', id: `msg_${id}`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] };
}

function callItem(call: { id: string; name: string; arguments: string }): JsonObject {
  return { type: 'function_call', id: `fc_${call.id}`, call_id: call.id, name: call.name, arguments: call.arguments, status: 'completed' };
}

/** A chat completion (IR) as a Responses `response` object. */
export function responseObject(ir: IrResponse, id: string, model: string, created: number): JsonObject {
  const text = ir.content.flatMap((p) => p.type === 'text' ? [p.text] : []).join('');
  const output: JsonObject[] = [];
  if (text !== '') output.push(messageItem(id, text));
  for (const p of ir.content) if (p.type === 'tool_call') output.push(callItem(p));
  const st = statusOf(ir.finish);
  const out: JsonObject = { id, object: 'response', created_at: created, status: st.status, model: ir.model ?? model, output, output_text: text };
  if (st.incomplete_details) out['incomplete_details'] = st.incomplete_details;
  const usage = usageOut(ir.usage);
  if (usage) out['usage'] = usage;
  return out;
}

/** Stream encoder: IR events → Responses streaming events (`data: <json>\n\n`, never `[DONE]`). */
function createResponsesEncoder(id: string, model: string, created: number): StreamEncoder {
  let seq = 0;
  let done = false;
  let text = '';
  let usage: IrUsage | undefined;
  let modelName = model;
  const calls = new Map<number, { id: string; name: string; arguments: string }>();
  const finished: Array<{ id: string; name: string; arguments: string }> = [];
  const frame = (type: string, fields: JsonObject): string => `data: ${JSON.stringify({ type, sequence_number: seq++, ...fields })}\n\n`;
  const base = (status: string): JsonObject => ({ id, object: 'response', created_at: created, status, model: modelName });
  const fail = (out: string[], code: string, message: string): void => {
    out.push(frame('response.failed', { response: { ...base('failed'), output: [], error: { code, message } } }));
    done = true;
  };
  const closeCall = (out: string[], index: number): void => {
    const c = calls.get(index);
    if (!c) return;
    calls.delete(index);
    finished.push(c);
    out.push(frame('response.output_item.done', { output_index: finished.length, item: callItem(c) }));
  };
  return {
    push(ev: IrStreamEvent): string[] {
      const out: string[] = [];
      if (done) return out;
      switch (ev.type) {
        case 'start':
          if (ev.model !== undefined) modelName = ev.model;
          out.push(frame('response.created', { response: { ...base('in_progress'), output: [] } }));
          break;
        case 'text_delta':
          text += ev.text;
          out.push(frame('response.output_text.delta', { item_id: `msg_${id}`, output_index: 0, content_index: 0, delta: ev.text }));
          break;
        case 'tool_call_start':
          if (calls.size + finished.length >= MAX_TOOL_SLOTS) {
            fail(out, 'invalid_backend_response', `more than ${MAX_TOOL_SLOTS} tool calls in one response`);
            break;
          }
          calls.set(ev.index, { id: ev.id, name: ev.name, arguments: '' });
          break;
        case 'tool_call_delta': {
          const c = calls.get(ev.index);
          if (c) c.arguments += ev.argumentsDelta;
          break;
        }
        case 'tool_call_end':
          closeCall(out, ev.index);
          break;
        case 'usage':
          usage = ev.usage;
          break;
        case 'finish': {
          for (const index of [...calls.keys()].sort((a, b) => a - b)) closeCall(out, index);
          const st = statusOf(ev.finish);
          const output: JsonObject[] = [];
          if (text !== '') output.push(messageItem(id, text));
          for (const c of finished) output.push(callItem(c));
          const response: JsonObject = { ...base(st.status), output, output_text: text };
          if (st.incomplete_details) response['incomplete_details'] = st.incomplete_details;
          const u = usageOut(usage);
          if (u) response['usage'] = u;
          out.push(frame(st.status === 'completed' ? 'response.completed' : 'response.incomplete', { response }));
          done = true;
          break;
        }
        case 'error':
          fail(out, ev.error.code ?? 'upstream_failure', ev.error.message);
          break;
        default: // reasoning has no place in this shim's output
      }
      return out;
    },
    end(): string[] {
      if (done) return [];
      const out: string[] = [];
      fail(out, 'upstream_failure', 'the upstream stream ended before the response was complete');
      return out;
    },
  };
}

/**
 * Converts the chat-completions answer to a shimmed `/v1/responses` request back into the Responses API shape.
 * Errors (non-2xx) are relayed as they are; an unusable 2xx body is a 502 `invalid_backend_response`.
 */
export async function chatToResponses(up: UpstreamResponse, requestId: string, model: string, hooks: { onUsage?: (u: IrUsage) => void; onMidstreamFailure?: () => void } = {}): Promise<UpstreamResponse> {
  const withShim = (h: Record<string, string | string[]>): Record<string, string | string[]> => ({ ...h, [SHIM_HEADER]: SHIM_VALUE });
  const created = Math.floor(Date.now() / 1000);
  if (up.status < 200 || up.status >= 300) return { ...up, headers: withShim({ ...up.headers } as Record<string, string | string[]>) };
  if (isEventStream(up.headers) && !Buffer.isBuffer(up.body)) {
    const id = `resp_${requestId}`;
    const body: Readable = convertStream(up.body, PROTOCOLS.openai.createStreamDecoder(), createResponsesEncoder(id, model, created), hooks);
    return { status: up.status, headers: withShim(convertedHeaders(up.headers, [], 'text/event-stream')), body };
  }
  const raw = await readBodyCapped(up.body, MAX_CONVERTED_BODY_BYTES);
  if (raw === undefined) throw new GatewayError('invalid_backend_response', `chat completions reply exceeds ${MAX_CONVERTED_BODY_BYTES} bytes`);
  const json = tryParseJson(raw.toString('utf8'));
  let ir: IrResponse;
  try {
    ir = PROTOCOLS.openai.responseToIr(json);
  } catch (err) {
    if (err instanceof TranslationError) throw new GatewayError('invalid_backend_response', `chat completions reply cannot be mapped: ${err.message}`);
    throw err;
  }
  if (ir.usage) hooks.onUsage?.(ir.usage);
  const chatId = ir.id;
  const body = Buffer.from(JSON.stringify(responseObject(ir, `resp_${chatId ?? requestId}`, model, created)));
  const headers = withShim(convertedHeaders(up.headers, [], 'application/json'));
  headers['content-length'] = String(body.length);
  return { status: up.status, headers, body };
}
