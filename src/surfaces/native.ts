import { Transform, type Readable } from 'node:stream';
import { GatewayError } from '../errors/gateway-error.js';
import type { RequestContext } from '../pipeline/context.js';
import { PROTOCOLS, type IrUsage, type ProtocolId } from '../protocols/index.js';
import { streamProtocolError } from '../protocols/ir.js';
import { tryParseJson } from '../protocols/util.js';
import { isTranslationBackend, type TranslationBackend } from '../providers/registry.js';
import type { Backend, UpstreamResponse } from '../upstream/types.js';
import { isEventStream, MAX_CONVERTED_BODY_BYTES, readBodyCapped } from './convert.js';
import type { ClientSurface } from './types.js';

/** Answers that are already in the client's protocol (from a translation backend): the relay must not convert them. */
const clientShaped = new WeakSet<UpstreamResponse>();

/** True for an answer a translation backend already encoded in the client surface's protocol. */
export function isClientShaped(up: UpstreamResponse): boolean {
  return clientShaped.has(up);
}

/**
 * True when a client-surface request skips the OpenAI round trip on this backend: an HTTP translation backend whose
 * native protocol is not OpenAI (`anthropic`, `google`). Same protocol as the client → the body goes through natively;
 * another protocol → client IR straight to the provider's protocol.
 */
export function takesSurfaceDirectly(ctx: RequestContext, b: Backend): b is TranslationBackend {
  return ctx.clientSurface !== undefined && isTranslationBackend(b) && b.protocol !== 'openai';
}

/**
 * Send a client-surface request to a non-OpenAI translation backend (see {@link takesSurfaceDirectly}). Anthropic client
 * → `anthropic` backend and Gemini client → `google` backend go natively (thinking blocks, their signatures and
 * `cache_control` survive: the provider gets the client's body with only the model set); anything else is translated
 * once, client IR → provider protocol, and answered in the client's protocol. `onUsage` sees the provider's usage.
 */
export async function sendSurfaceDirect(
  ctx: RequestContext, b: TranslationBackend, headers: Record<string, string | string[]>, onUsage: (u: IrUsage) => void,
): Promise<UpstreamResponse> {
  const s = ctx.clientSurface as ClientSurface;
  const common = { signal: ctx.abort.signal, requestId: ctx.id, headers };
  let up: UpstreamResponse;
  if (b.protocol === s.protocol && !s.wrapInternal) {
    up = await b.sendNative(s.nativeBody, { ...common, model: s.model, stream: s.stream });
    up = await withUsage(up, s.protocol, onUsage, true, () => { ctx.outcome = 'upstream_failed_midstream'; });
  } else {
    up = await b.sendIr(s.ir, { ...common, client: s.protocol, warnings: s.warnings, tap: (ev) => { if (ev.type === 'usage') onUsage(ev.usage); } });
    up = await withUsage(up, s.protocol, onUsage, false);
    if (s.wrapInternal) up = wrapInternal(up);
  }
  clientShaped.add(up);
  return up;
}

/**
 * Reads the provider's usage off a client-shaped answer without changing a byte: a 2xx JSON body is read (≤ 8 MiB)
 * and decoded once; an SSE body (when `tapStream`) goes through a pass-through that feeds a decoder.
 */
async function withUsage(
  up: UpstreamResponse, protocol: ProtocolId, onUsage: (u: IrUsage) => void, tapStream: boolean, onMidstreamFailure: () => void = () => undefined,
): Promise<UpstreamResponse> {
  if (up.status < 200 || up.status >= 300) return up;
  if (isEventStream(up.headers) && !Buffer.isBuffer(up.body)) {
    if (!tapStream) return up;
    const decoder = PROTOCOLS[protocol].createStreamDecoder();
    const see = (events: ReturnType<typeof decoder.push>): void => {
      for (const ev of events) if (ev.type === 'usage') onUsage(ev.usage);
    };
    let tail = '\n\n'; // the start of the stream is an event boundary
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        see(decoder.push(chunk));
        tail = (tail + chunk.toString('latin1', Math.max(0, chunk.length - 4))).slice(-4);
        cb(null, chunk);
      },
      flush(cb) {
        see(decoder.end());
        cb();
      },
    });
    // A provider connection lost between two events ends the client's stream with the protocol's own error
    // event (the SDK raises it); lost inside an event, the connection is cut (no half event is completed).
    const onError = (): void => {
      if (!/(\n\n|\r\n\r\n|\r\r)$/.test(tail)) {
        tap.destroy(new Error('the provider stream failed inside an event'));
        return;
      }
      onMidstreamFailure();
      const body = JSON.stringify(PROTOCOLS[protocol].renderError(streamProtocolError('the provider stream failed before it finished')).body);
      tap.end(protocol === 'anthropic' ? `event: error\ndata: ${body}\n\n` : `data: ${body}\n\n`);
    };
    return { ...up, body: passThrough(up.body, tap, onError) };
  }
  const raw = await readBodyCapped(up.body, MAX_CONVERTED_BODY_BYTES);
  if (raw === undefined) throw new GatewayError('invalid_backend_response', `backend reply exceeds ${MAX_CONVERTED_BODY_BYTES} bytes`);
  const json = tryParseJson(raw.toString('utf8'));
  if (json !== undefined) {
    try {
      const u = PROTOCOLS[protocol].responseToIr(json).usage;
      if (u) onUsage(u);
    } catch {
      // Not a response body this protocol knows: relayed as it is, settled on the estimate.
    }
  }
  return { ...up, body: raw };
}

/** Pipes `src` through `t`: a client abort destroys `src`; an upstream failure goes to `onError` (default: destroy `t`). */
function passThrough(src: Readable, t: Transform, onError?: () => void): Readable {
  let failed = false;
  const fail = (err: Error): void => {
    if (failed || t.destroyed) return;
    failed = true;
    src.unpipe(t);
    if (onError) onError();
    else t.destroy(err);
  };
  src.on('error', fail);
  // Closed without `end` or `error` (destroyed quietly): a failure too, never a stream left hanging.
  src.on('close', () => { if (!src.readableEnded) fail(new Error('the provider stream closed before it ended')); });
  t.on('close', () => { if (!src.destroyed) src.destroy(); });
  src.pipe(t);
  return t;
}

/** Gemini `/v1internal`: `{"response":…}` around the JSON reply or every `data:` chunk (errors stay as they are). */
function wrapInternal(up: UpstreamResponse): UpstreamResponse {
  const wrap = (json: string): string => json.startsWith('{"error"') ? json : `{"response":${json}}`;
  if (up.status < 200 || up.status >= 300) return up;
  if (Buffer.isBuffer(up.body)) {
    const body = Buffer.from(wrap(up.body.toString('utf8')));
    return { ...up, headers: { ...up.headers, 'content-length': String(body.length) }, body };
  }
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      // The translated stream only ever emits whole `data: <json>\n\n` frames per chunk.
      const frames = chunk.toString('utf8').split('\n\n');
      let out = '';
      for (const f of frames) if (f.startsWith('data: ')) out += `data: ${wrap(f.slice(6))}\n\n`;
      cb(null, out);
    },
  });
  return { ...up, body: passThrough(up.body, t) };
}
