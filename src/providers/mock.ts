import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BackendConfig } from '../config/schema.js';
import { UpstreamFailure, type Backend, type UpstreamRequest, type UpstreamResponse } from '../upstream/types.js';

/**
 * The built-in `mock` provider: answers `/v1/chat/completions` (stream and non-stream),
 * `/v1/completions`, `/v1/embeddings` and `/v1/models` in-process, with deterministic text derived
 * from the prompt and real-looking `usage`. For demos, benchmarks and tests; it never touches the network.
 */
export class MockBackend implements Backend {
  readonly kind = 'translation' as const;
  readonly provider = 'mock';
  readonly name: string;
  readonly maxInFlight: number | undefined;
  readonly modelMap: Readonly<Record<string, string>>;
  readonly latencyMs: number;
  readonly models: readonly string[];
  inFlight = 0;

  constructor(config: BackendConfig) {
    this.name = config.name;
    this.maxInFlight = config.max_in_flight ?? undefined;
    this.modelMap = config.model_map;
    this.latencyMs = config.mock_latency_ms ?? 0;
    this.models = config.mock_models ?? ['mock-gpt', 'mock-embedding'];
  }

  ownModels(): string[] {
    return [...this.models];
  }

  async send(req: UpstreamRequest): Promise<UpstreamResponse> {
    if (this.latencyMs > 0) await delay(this.latencyMs, req.signal);
    if (req.signal.aborted) throw new UpstreamFailure('aborted', 'client aborted the request');
    const { method, path } = req;
    if (path === '/v1/models' || path.startsWith('/v1/models/')) {
      // CONTRACT §3.6: `x-ditto-translation` is the backend name on model lookups.
      return withTranslation(this.#models(method, path), this.name);
    }
    return withTranslation(this.#generate(req), this.provider);
  }

  #models(method: string, path: string): UpstreamResponse {
    if (method !== 'GET') return error(404, `mock backend does not serve ${method} ${path}`, 'unknown_url');
    if (path === '/v1/models') {
      return json(200, { object: 'list', data: this.models.map((id) => modelEntry(id)) });
    }
    let id: string;
    try {
      id = decodeURIComponent(path.slice('/v1/models/'.length));
    } catch {
      id = path.slice('/v1/models/'.length);
    }
    return this.models.includes(id)
      ? json(200, modelEntry(id))
      : error(404, `The model '${id}' does not exist`, 'model_not_found', 'model');
  }

  #generate(req: UpstreamRequest): UpstreamResponse {
    const { method, path } = req;
    if (method !== 'POST') return error(404, `mock backend does not serve ${method} ${path}`, 'unknown_url');
    const body = req.json;
    if (!body) return error(400, 'mock backend expects a JSON body', 'invalid_json');
    const model = typeof body['model'] === 'string' ? body['model'] : 'mock-gpt';
    switch (path) {
      case '/v1/chat/completions': return chat(body, model, req.requestId);
      case '/v1/completions': return completion(body, model, req.requestId);
      case '/v1/embeddings': return embeddings(body, model);
      default: return error(404, `mock backend does not serve POST ${path}`, 'unknown_url');
    }
  }
}

function withTranslation(res: UpstreamResponse, value: string): UpstreamResponse {
  return { ...res, headers: { ...res.headers, 'x-ditto-translation': value } };
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void { clearTimeout(t); signal.removeEventListener('abort', done); resolve(); }
    signal.addEventListener('abort', done, { once: true });
  });
}

function modelEntry(id: string): { id: string; object: 'model'; created: number; owned_by: string } {
  return { id, object: 'model', created: 1700000000, owned_by: 'ditto-gateway-mock' };
}

function json(status: number, value: unknown): UpstreamResponse {
  const body = Buffer.from(JSON.stringify(value));
  return { status, headers: { 'content-type': 'application/json', 'content-length': String(body.length) }, body };
}

function error(status: number, message: string, code: string, param: string | null = null): UpstreamResponse {
  return json(status, { error: { message, type: 'invalid_request_error', param, code } });
}

/** Plain text of a message `content` (string or parts). */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((p) => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '')).join(' ');
  }
  return '';
}

function promptOf(body: Record<string, unknown>): { all: string; last: string } {
  const messages = Array.isArray(body['messages']) ? body['messages'] : [];
  let all = '';
  let last = '';
  for (const m of messages) {
    if (!m || typeof m !== 'object') continue;
    const t = contentText((m as { content?: unknown }).content);
    all += t;
    if ((m as { role?: unknown }).role === 'user') last = t;
  }
  return { all, last };
}

/** Deterministic reply words for a prompt, cut at `max_tokens` (one word = one token). */
function replyWords(prompt: string, maxTokens: unknown): { words: string[]; truncated: boolean } {
  const echo = prompt.trim().split(/\s+/).filter(Boolean).slice(0, 24);
  const words = ['This', 'is', 'a', 'mock', 'reply', 'to:', ...(echo.length > 0 ? echo : ['(empty)'])];
  const max = typeof maxTokens === 'number' && Number.isInteger(maxTokens) && maxTokens > 0 ? maxTokens : Infinity;
  return words.length > max ? { words: words.slice(0, max), truncated: true } : { words, truncated: false };
}

function idFor(prefix: string, requestId: string): string {
  return `${prefix}-${createHash('sha256').update(requestId).digest('hex').slice(0, 24)}`;
}

function usageFor(promptChars: number, completionTokens: number): Record<string, number> {
  const prompt = Math.max(1, Math.ceil(promptChars / 4));
  return { prompt_tokens: prompt, completion_tokens: completionTokens, total_tokens: prompt + completionTokens };
}

function chat(body: Record<string, unknown>, model: string, requestId: string): UpstreamResponse {
  const { all, last } = promptOf(body);
  const { words, truncated } = replyWords(last, body['max_completion_tokens'] ?? body['max_tokens']);
  const finish = truncated ? 'length' : 'stop';
  const usage = usageFor(all.length, words.length);
  const id = idFor('chatcmpl-mock', requestId);
  const created = Math.floor(Date.now() / 1000);
  if (body['stream'] === true) {
    const includeUsage = (body['stream_options'] as { include_usage?: unknown } | undefined)?.include_usage === true;
    const base = { id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_mock' };
    const events: unknown[] = [{ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] }];
    words.forEach((w, i) => {
      events.push({ ...base, choices: [{ index: 0, delta: { content: i === 0 ? w : ` ${w}` }, logprobs: null, finish_reason: null }] });
    });
    events.push({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: finish }] });
    if (includeUsage) events.push({ ...base, choices: [], usage });
    return sse(events);
  }
  return json(200, {
    id, object: 'chat.completion', created, model, system_fingerprint: 'fp_mock',
    choices: [{ index: 0, message: { role: 'assistant', content: words.join(' '), refusal: null }, logprobs: null, finish_reason: finish }],
    usage,
  });
}

function completion(body: Record<string, unknown>, model: string, requestId: string): UpstreamResponse {
  const p = body['prompt'];
  const prompt = typeof p === 'string' ? p : Array.isArray(p) ? p.filter((x) => typeof x === 'string').join(' ') : '';
  const { words, truncated } = replyWords(prompt, body['max_tokens']);
  const finish = truncated ? 'length' : 'stop';
  const id = idFor('cmpl-mock', requestId);
  const created = Math.floor(Date.now() / 1000);
  const usage = usageFor(prompt.length, words.length);
  if (body['stream'] === true) {
    const includeUsage = (body['stream_options'] as { include_usage?: unknown } | undefined)?.include_usage === true;
    const base = { id, object: 'text_completion', created, model };
    const events: unknown[] = words.map((w, i) => ({ ...base, choices: [{ index: 0, text: i === 0 ? w : ` ${w}`, logprobs: null, finish_reason: null }] }));
    events.push({ ...base, choices: [{ index: 0, text: '', logprobs: null, finish_reason: finish }] });
    if (includeUsage) events.push({ ...base, choices: [], usage });
    return sse(events);
  }
  return json(200, { id, object: 'text_completion', created, model, choices: [{ index: 0, text: words.join(' '), logprobs: null, finish_reason: finish }], usage });
}

function embeddings(body: Record<string, unknown>, model: string): UpstreamResponse {
  const input = body['input'];
  // A string, an array of strings, one token array (`[1, 2]`) or several (`[[1], [2]]`).
  const inputs = typeof input === 'string'
    ? [input]
    : Array.isArray(input) && input.length > 0 && input.every((x) => typeof x === 'number')
      ? [JSON.stringify(input)]
      : Array.isArray(input) ? input.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))) : null;
  if (!inputs || inputs.length === 0) return error(400, "'input' must be a non-empty string or array", 'invalid_request', 'input');
  const d = body['dimensions'];
  if (d !== undefined && (typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > 4096)) {
    return error(400, "'dimensions' must be an integer between 1 and 4096", 'invalid_request', 'dimensions');
  }
  const dims = typeof d === 'number' ? d : 8;
  const base64 = body['encoding_format'] === 'base64';
  let chars = 0;
  const data = inputs.map((text, index) => {
    chars += text.length;
    const vec = vectorFor(text, dims);
    const embedding = base64 ? Buffer.from(vec.buffer, vec.byteOffset, vec.byteLength).toString('base64') : Array.from(vec);
    return { object: 'embedding', index, embedding };
  });
  const prompt = Math.max(1, Math.ceil(chars / 4));
  return json(200, { object: 'list', data, model, usage: { prompt_tokens: prompt, total_tokens: prompt } });
}

/** A unit vector derived from the text's SHA-256, so equal inputs embed equally. */
function vectorFor(text: string, dims: number): Float32Array {
  const vec = new Float32Array(dims);
  let seed = createHash('sha256').update(text).digest();
  let norm = 0;
  for (let i = 0; i < dims; i++) {
    if (i % 16 === 0 && i > 0) seed = createHash('sha256').update(seed).digest();
    const v = ((seed.readUInt16LE((i % 16) * 2) / 65535) * 2) - 1;
    vec[i] = v;
    norm += v * v;
  }
  const n = Math.sqrt(norm) || 1;
  for (let i = 0; i < dims; i++) vec[i] = (vec[i] as number) / n;
  return vec;
}

function sse(events: unknown[]): UpstreamResponse {
  const chunks = events.map((e) => Buffer.from(`data: ${JSON.stringify(e)}\n\n`));
  chunks.push(Buffer.from('data: [DONE]\n\n'));
  return {
    status: 200,
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' },
    body: Readable.from(chunks, { objectMode: false }),
  };
}
