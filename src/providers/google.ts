/**
 * `provider: "google"`: the Gemini API (`models/{model}:generateContent`, `:streamGenerateContent?alt=sse`, and
 * `:embedContent` / `:batchEmbedContents` behind OpenAI `/v1/embeddings`; `x-goog-api-key`, set by auth resolution).
 *
 * @see https://ai.google.dev/api/generate-content
 * @see https://ai.google.dev/api/embeddings
 */
import type { BackendConfig } from '../config/schema.js';
import type { UpstreamRequest, UpstreamResponse } from '../upstream/types.js';
import { TranslationBackend, readAll, type BackendDeps, type Dialect } from './translation.js';

/** The model path segment: a leading `models/` is accepted and not doubled. */
function modelPath(model: string): string {
  return `/models/${encodeURIComponent(model.startsWith('models/') ? model.slice(7) : model)}`;
}

const DIALECT: Dialect = {
  protocol: 'gemini',
  generateTarget: (model, stream) => ({
    path: `${modelPath(model)}:${stream ? 'streamGenerateContent' : 'generateContent'}`,
    query: stream ? 'alt=sse' : '',
  }),
  fixedHeaders: {},
  clientHeaders: [],
};

/** OpenAI embeddings fields this backend maps; any other is dropped with a warning. */
const EMBED_KNOWN = new Set(['model', 'input', 'dimensions', 'encoding_format']);

/** A Gemini backend. */
export class GoogleBackend extends TranslationBackend {
  constructor(config: BackendConfig, deps: BackendDeps) {
    super(config, 'google', DIALECT, deps);
  }

  protected override extraEndpoint(req: UpstreamRequest): Promise<UpstreamResponse> | undefined {
    if (req.method === 'POST' && req.path === '/v1/embeddings') return this.#embeddings(req);
    return undefined;
  }

  /** OpenAI `/v1/embeddings` → `embedContent` (one string) or `batchEmbedContents` (a list) → OpenAI embeddings. */
  async #embeddings(req: UpstreamRequest): Promise<UpstreamResponse> {
    const json = req.json;
    if (json === undefined) throw this.error('invalid_request', 'embeddings need a JSON body');
    const model = this.resolveModel(typeof json['model'] === 'string' ? json['model'] : undefined);
    const input = json['input'];
    let texts: string[];
    if (typeof input === 'string') texts = [input];
    else if (Array.isArray(input) && input.length > 0 && input.every((x) => typeof x === 'string')) texts = input as string[];
    else if (Array.isArray(input) && input.length > 0 && input.every((x) => typeof x !== 'string')) {
      throw this.error('invalid_request', 'token-array inputs cannot be sent to a gemini backend (send text)', 'input');
    } else throw this.error('invalid_request', "'input' must be a non-empty string or array of strings", 'input');
    const dims = json['dimensions'];
    if (dims !== undefined && dims !== null && (typeof dims !== 'number' || !Number.isInteger(dims) || dims < 1)) {
      throw this.error('invalid_request', "'dimensions' must be a positive integer", 'dimensions');
    }
    const format = json['encoding_format'] ?? 'float';
    if (format !== 'float' && format !== 'base64') throw this.error('invalid_request', "'encoding_format' must be float or base64", 'encoding_format');
    const warnings: string[] = [];
    for (const k of Object.keys(json)) if (!EMBED_KNOWN.has(k) && json[k] !== undefined) warnings.push(`${k}: not supported by gemini embeddings, dropped`);
    const content = (text: string): Record<string, unknown> => {
      const r: Record<string, unknown> = { content: { parts: [{ text }] } };
      if (typeof dims === 'number') r['outputDimensionality'] = dims;
      return r;
    };
    const single = typeof input === 'string';
    const path = `${modelPath(model)}:${single ? 'embedContent' : 'batchEmbedContents'}`;
    const body = single
      ? content(texts[0] as string)
      : { requests: texts.map((t) => ({ model: `models/${model.startsWith('models/') ? model.slice(7) : model}`, ...content(t) })) };
    const res = await this.post(path, '', Buffer.from(JSON.stringify(body)), { signal: req.signal, requestId: req.requestId, headers: req.headers });
    if (res.statusCode < 200 || res.statusCode >= 300) return this.providerError('openai', res, req.signal, warnings);
    const buf = await readAll(res.body, 64 * 1024 * 1024, req.signal);
    const vectors = buf === undefined ? undefined : embeddingVectors(buf.toString('utf8'), single);
    if (vectors === undefined || vectors.length !== texts.length) {
      return this.jsonResponse(502, { error: { message: 'gemini returned an unexpected embeddings response', type: 'api_error', param: null, code: 'invalid_backend_response' } }, warnings);
    }
    let tokens = vectors.tokens;
    if (tokens === undefined) {
      tokens = Math.max(1, Math.ceil(texts.reduce((n, t) => n + t.length, 0) / 4));
      warnings.push('usage: gemini reports no token count for embeddings; prompt_tokens is an estimate (characters/4)');
    }
    const data = vectors.values.map((v, index) => ({
      object: 'embedding',
      index,
      embedding: format === 'base64' ? Buffer.from(Float32Array.from(v).buffer).toString('base64') : v,
    }));
    return this.jsonResponse(200, { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } }, warnings);
  }
}

/** The vectors (and token count, when reported) of an `embedContent` or `batchEmbedContents` answer. */
export function embeddingVectors(text: string, single: boolean): { values: number[][]; tokens: number | undefined; length: number } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const list = single ? [o['embedding']] : o['embeddings'];
  if (!Array.isArray(list)) return undefined;
  const values: number[][] = [];
  for (const e of list) {
    const vals = typeof e === 'object' && e !== null ? (e as { values?: unknown }).values : undefined;
    if (!Array.isArray(vals) || !vals.every((x) => typeof x === 'number')) return undefined;
    values.push(vals as number[]);
  }
  const um = o['usageMetadata'];
  const t = typeof um === 'object' && um !== null ? (um as { promptTokenCount?: unknown }).promptTokenCount : undefined;
  return { values, tokens: typeof t === 'number' ? t : undefined, length: values.length };
}

/** Create a Gemini backend. */
export function createGoogleBackend(config: BackendConfig, deps: BackendDeps): TranslationBackend {
  return new GoogleBackend(config, deps);
}
