import { Readable } from 'node:stream';
import { GatewayError } from '../errors/gateway-error.js';
import {
  PROTOCOLS, TranslationError,
  type IrStreamEvent, type IrUsage, type ProtocolId, type StreamDecoder, type StreamEncoder,
} from '../protocols/index.js';
import { streamProtocolError } from '../protocols/ir.js';
import { tryParseJson } from '../protocols/util.js';
import { warningsHeader } from '../providers/translation.js';
import type { HeaderMap, UpstreamResponse } from '../upstream/types.js';

/** Largest upstream JSON body converted for a client surface (CONTRACT §3.5: chat body buffered ≤ 8 MiB). */
export const MAX_CONVERTED_BODY_BYTES = 8 * 1024 * 1024;

/** Response headers that describe the upstream body's bytes and so never survive a conversion. */
const BODY_HEADERS = new Set(['content-length', 'content-type', 'content-encoding', 'transfer-encoding', 'etag', 'content-md5']);

/** What a conversion needs besides the upstream answer. */
export interface ConvertOptions {
  /** Id and model written where the upstream gave none. */
  id: string;
  model: string;
  /** Dropped-field notes, sent as `x-ditto-translation-warnings`. */
  warnings: readonly string[];
  /** Sees every usage snapshot (cumulative) as it is read, for settling budgets on real usage. */
  onUsage?: (usage: IrUsage) => void;
  /** Called once when the upstream stream broke after the client's headers were sent. */
  onMidstreamFailure?: () => void;
  /** Rewrites each outgoing SSE frame or the JSON body (Gemini `/v1internal` wrapping). */
  wrap?: (json: string) => string;
}

/** True for an SSE response. */
export function isEventStream(headers: HeaderMap): boolean {
  const ct = headers['content-type'];
  const v = Array.isArray(ct) ? ct[0] : ct;
  return typeof v === 'string' && v.toLowerCase().startsWith('text/event-stream');
}

/** Upstream headers minus the ones describing its body, plus the translation warnings. */
export function convertedHeaders(up: HeaderMap, warnings: readonly string[], contentType: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in up) {
    const v = up[name];
    if (v !== undefined && !BODY_HEADERS.has(name)) out[name] = v;
  }
  out['content-type'] = contentType;
  if (warnings.length > 0) out['x-ditto-translation-warnings'] = warningsHeader(warnings);
  return out;
}

/**
 * Reads a body whole, or undefined past `max` bytes (the rest is discarded, the stream destroyed). A body that fails
 * while being read is a 502 `backend_error` (nothing has been sent to the client yet).
 */
export async function readBodyCapped(body: Readable | Buffer, max: number): Promise<Buffer | undefined> {
  if (Buffer.isBuffer(body)) return body.length <= max ? body : undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of body as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > max) {
        body.destroy();
        return undefined;
      }
      chunks.push(c);
    }
  } catch (err) {
    throw new GatewayError('backend_error', `backend response failed while being read: ${(err as Error)?.message ?? 'error'}`);
  }
  return Buffer.concat(chunks, size);
}

/**
 * Converts an OpenAI chat-completions answer into the `target` protocol: errors (any non-2xx) keep their status and
 * take the target's error shape; a JSON completion is converted whole; an SSE stream is converted event by event as
 * it arrives (never buffered). A 2xx body that is not a chat completion is a 502 `invalid_backend_response`.
 */
export async function convertFromOpenAi(target: ProtocolId, up: UpstreamResponse, o: ConvertOptions): Promise<UpstreamResponse> {
  const to = PROTOCOLS[target];
  const wrap = o.wrap ?? ((s: string) => s);
  if (up.status < 200 || up.status >= 300) {
    const raw = await readBodyCapped(up.body, MAX_CONVERTED_BODY_BYTES);
    const err = PROTOCOLS.openai.parseUpstreamError(up.status, raw === undefined ? '' : raw.toString('utf8'));
    const rendered = to.renderError(err);
    return jsonResponse(up.status, up.headers, o.warnings, JSON.stringify(rendered.body));
  }
  if (isEventStream(up.headers) && !Buffer.isBuffer(up.body)) {
    const body = convertStream(up.body, PROTOCOLS.openai.createStreamDecoder(), to.createStreamEncoder({ id: o.id, model: o.model, created: nowSeconds() }), o);
    const headers = convertedHeaders(up.headers, o.warnings, 'text/event-stream');
    return { status: up.status, headers, body };
  }
  const raw = await readBodyCapped(up.body, MAX_CONVERTED_BODY_BYTES);
  if (raw === undefined) throw new GatewayError('invalid_backend_response', `backend reply exceeds ${MAX_CONVERTED_BODY_BYTES} bytes and cannot be converted`);
  const json = tryParseJson(raw.toString('utf8'));
  if (json === undefined) throw new GatewayError('invalid_backend_response', 'backend reply is not JSON');
  let converted: { value: unknown; warnings: string[] };
  try {
    const ir = PROTOCOLS.openai.responseToIr(json);
    if (ir.usage) o.onUsage?.(ir.usage);
    converted = to.responseFromIr(ir, { id: o.id, model: o.model, created: nowSeconds() });
  } catch (err) {
    if (err instanceof TranslationError) throw new GatewayError('invalid_backend_response', `backend reply is not a chat completion: ${err.message}`);
    throw err;
  }
  return jsonResponse(up.status, up.headers, [...o.warnings, ...converted.warnings], wrap(JSON.stringify(converted.value)));
}

function jsonResponse(status: number, upHeaders: HeaderMap, warnings: readonly string[], text: string): UpstreamResponse {
  const body = Buffer.from(text);
  const headers = convertedHeaders(upHeaders, warnings, 'application/json');
  headers['content-length'] = String(body.length);
  return { status, headers, body };
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * Decodes upstream SSE bytes to IR events and encodes them in the client's protocol, chunk by chunk. Backpressure
 * passes through (the upstream is paused while the client is slow); destroying the result destroys the upstream.
 * An upstream that breaks mid-stream ends the client's stream with the protocol's own error event.
 */
export function convertStream(upstream: Readable, decoder: StreamDecoder, encoder: StreamEncoder, o: Pick<ConvertOptions, 'onUsage' | 'onMidstreamFailure' | 'wrap'>): Readable {
  let ended = false;
  const encode = (events: IrStreamEvent[], frames: string[]): void => {
    for (const ev of events) {
      if (ev.type === 'usage') o.onUsage?.(ev.usage);
      for (const f of encoder.push(ev)) frames.push(f);
    }
  };
  const emit = (frames: string[]): boolean => {
    if (frames.length === 0) return true;
    const wrap = o.wrap;
    const text = wrap ? frames.map((f) => wrapFrame(f, wrap)).join('') : frames.join('');
    return out.push(text);
  };
  const onData = (chunk: Buffer): void => {
    const frames: string[] = [];
    encode(decoder.push(chunk), frames);
    if (!emit(frames)) upstream.pause();
  };
  const onEnd = (): void => {
    if (ended) return;
    ended = true;
    const frames: string[] = [];
    encode(decoder.end(), frames);
    for (const f of encoder.end()) frames.push(f);
    emit(frames);
    out.push(null);
  };
  const onError = (): void => {
    if (ended) return;
    ended = true;
    o.onMidstreamFailure?.();
    const frames: string[] = [];
    encode([{ type: 'error', error: streamProtocolError('the upstream stream failed before it finished') }], frames);
    for (const f of encoder.end()) frames.push(f);
    emit(frames);
    out.push(null);
  };
  // A body closed without `end` or `error` (destroyed quietly) is a failure too, never a stream left hanging.
  const onClose = (): void => { if (!ended) onError(); };
  const out = new Readable({
    read() {
      if (upstream.isPaused()) upstream.resume();
    },
    destroy(err, cb) {
      upstream.off('data', onData);
      upstream.off('end', onEnd);
      upstream.off('error', onError);
      upstream.off('close', onClose);
      upstream.on('error', () => undefined);
      if (!ended) upstream.destroy();
      cb(err);
    },
  });
  upstream.on('data', onData);
  upstream.on('end', onEnd);
  upstream.on('error', onError);
  upstream.on('close', onClose);
  return out;
}

/** Applies `wrap` to the JSON of a `data: <json>\n\n` frame; other frames pass unchanged. */
function wrapFrame(frame: string, wrap: (json: string) => string): string {
  if (!frame.startsWith('data: ') || !frame.endsWith('\n\n') || frame.indexOf('\n') !== frame.length - 2) return frame;
  return `data: ${wrap(frame.slice(6, -2))}\n\n`;
}

/** A 400 for a client body its protocol's converter rejected, naming the parameter. */
export function translationError(err: unknown): GatewayError {
  if (err instanceof TranslationError) return new GatewayError('invalid_request', err.message, { param: err.param });
  throw err;
}
