import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../errors/gateway-error.js';
import type { RequestContext } from '../pipeline/context.js';
import type { Stage } from '../pipeline/run.js';
import { PROTOCOLS } from '../protocols/index.js';
import { isRecord } from '../protocols/util.js';
import { decodeRequest, installSurface, jsonObjectBody } from './request.js';

/** What a Google GenAI path names: the model (public API only), streaming, and the `/v1internal` envelope. */
export interface GeminiRoute {
  /** From `/v1beta/models/{model}:…`; undefined on `/v1internal` (the body names it). */
  model: string | undefined;
  stream: boolean;
  internal: boolean;
}

/**
 * Parses `/v1beta/models/{model}:generateContent|:streamGenerateContent` and
 * `/v1internal:generateContent|:streamGenerateContent` (CONTRACT §3.8); undefined for any other path.
 */
export function parseGeminiPath(path: string): GeminiRoute | undefined {
  if (path === '/v1internal:generateContent') return { model: undefined, stream: false, internal: true };
  if (path === '/v1internal:streamGenerateContent') return { model: undefined, stream: true, internal: true };
  if (!path.startsWith('/v1beta/models/')) return undefined;
  const rest = path.slice('/v1beta/models/'.length);
  const colon = rest.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const method = rest.slice(colon + 1);
  if (method !== 'generateContent' && method !== 'streamGenerateContent') return undefined;
  let model: string;
  try {
    model = decodeURIComponent(rest.slice(0, colon));
  } catch {
    return undefined;
  }
  if (model.startsWith('models/')) model = model.slice('models/'.length);
  if (model === '' || model.includes('/')) return undefined;
  return { model, stream: method === 'streamGenerateContent', internal: false };
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  const s = (Array.isArray(v) ? v[0] : v)?.trim();
  return s === undefined || s === '' ? undefined : s;
}

/**
 * The presented key on the Google surface (CONTRACT §3.8): `x-ditto-virtual-key`, `x-goog-api-key`, `?key=`,
 * `x-litellm-api-key` (optional `Bearer `), `Authorization: Bearer`. Empty counts as absent.
 */
export function geminiToken(headers: IncomingHttpHeaders, query: string): string | undefined {
  const direct = header(headers, 'x-ditto-virtual-key') ?? header(headers, 'x-goog-api-key');
  if (direct !== undefined) return direct;
  if (query.length > 1) {
    const key = new URLSearchParams(query.slice(1)).get('key')?.trim();
    if (key) return key;
  }
  for (const name of ['x-litellm-api-key', 'authorization']) {
    const v = header(headers, name);
    if (v === undefined) continue;
    const bearer = /^bearer\s+/i.exec(v);
    if (bearer) {
      const t = v.slice(bearer[0].length).trim();
      if (t !== '') return t;
    } else if (name === 'x-litellm-api-key') {
      return v;
    }
  }
  return undefined;
}

/** Gemini `/v1internal` envelope: `{"response":…}` around every reply and chunk (errors stay as they are). */
function wrapInternal(json: string): string {
  return json.startsWith('{"error"') ? json : `{"response":${json}}`;
}

/**
 * The Google GenAI surface (CONTRACT §3.8) for one parsed path: a `generateContent` body mapped to
 * `/v1/chat/completions` (text-only user turns as one string) and run through the normal pipeline; the answer goes
 * back as a `GenerateContentResponse`, or as `data: <json>` chunks ending with `finishReason` and `usageMetadata`.
 *
 * @see https://ai.google.dev/api/generate-content
 */
export function geminiRequest(route: GeminiRoute): Stage {
  return {
    name: 'gemini_request',
    run(ctx: RequestContext): void {
      const outer = jsonObjectBody(ctx);
      let body = outer;
      let model = route.model;
      if (route.internal) {
        if (typeof outer['model'] !== 'string' || outer['model'] === '') throw new GatewayError('invalid_request', 'missing field `model`', { param: 'model' });
        if (!isRecord(outer['request'])) throw new GatewayError('invalid_request', 'missing field `request`', { param: 'request' });
        model = outer['model'].startsWith('models/') ? outer['model'].slice('models/'.length) : outer['model'];
        body = outer['request'];
      }
      if (model === undefined || model === '') throw new GatewayError('invalid_request', 'missing field `model`', { param: 'model' });
      if (!Array.isArray(body['contents'])) throw new GatewayError('invalid_request', 'missing field `contents`', { param: 'contents' });
      const m = model;
      const ir = decodeRequest(() => PROTOCOLS.gemini.requestToIr(body, { model: m, stream: route.stream }));
      installSurface(ctx, {
        protocol: 'gemini', nativeBody: body, ir: ir.value, stream: route.stream, model: m, warnings: ir.warnings, wrapInternal: route.internal,
      }, 'string', route.internal ? wrapInternal : undefined);
    },
  };
}
