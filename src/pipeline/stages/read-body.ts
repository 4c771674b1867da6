import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { GatewayError } from '../../errors/gateway-error.js';
import type { RequestContext } from '../context.js';
import type { Stage } from '../run.js';

/** Content types relayed as a stream, never held whole in memory (uploads). */
const STREAMED_TYPES = ['multipart/', 'application/octet-stream', 'audio/', 'video/', 'image/'];
/** Upload endpoints whose multipart bodies may exceed `--proxy-max-body-bytes` (CONTRACT §3.3 step 2). */
const UPLOAD_PATHS = new Set(['/v1/files', '/v1/audio/transcriptions', '/v1/audio/translations']);

function tooLarge(max: number): GatewayError {
  return new GatewayError('request_too_large', `request body exceeds the ${max}-byte limit (--proxy-max-body-bytes)`);
}

/**
 * Reads the request body within `--proxy-max-body-bytes` (413 past it, §7.1). JSON and other small
 * bodies are buffered (they are parsed, and replayed on fallback); uploads stream straight through.
 */
export const readBody: Stage = {
  name: 'read_body',
  run(ctx: RequestContext): void | Promise<void> {
    const req = ctx.req;
    const cl = req.headers['content-length'];
    const len = cl === undefined ? undefined : Number(cl);
    if (len !== undefined && !Number.isSafeInteger(len)) throw new GatewayError('invalid_request', 'invalid content-length header');
    const hasBody = len !== undefined ? len > 0 : req.headers['transfer-encoding'] !== undefined;
    if (!hasBody) return undefined;
    const max = ctx.gw.options.maxBodyBytes;
    const ct = (req.headers['content-type'] ?? '').toLowerCase();
    if (STREAMED_TYPES.some((p) => ct.startsWith(p))) {
      const upload = ctx.method === 'POST' && UPLOAD_PATHS.has(ctx.path) && ct.startsWith('multipart/form-data');
      if (len !== undefined && len > max) {
        if (!upload) throw tooLarge(max);
        if (ctx.clientRequestId) {
          throw new GatewayError('unsupported_idempotency', 'x-request-id is not supported on uploads larger than --proxy-max-body-bytes (they cannot be replayed)');
        }
      }
      ctx.bodyBytes = len ?? 0;
      ctx.bodyStream = len === undefined && !upload ? req.pipe(new LimitStream(max, ctx)) : req;
      return undefined;
    }
    if (len !== undefined && len > max) throw tooLarge(max);
    return bufferBody(req, max).then((body) => {
      if (body === undefined) {
        // The client went away mid-body: nothing to answer and nothing to forward.
        ctx.outcome = 'client_aborted';
        return;
      }
      ctx.body = body;
      ctx.bodyBytes = body.length;
    });
  },
};

/**
 * The whole body within `max` bytes (413 past it), or undefined when the client disconnected (or the
 * stream failed) before sending all of it. Also used by the guardrails stage to inspect small uploads.
 */
export function bufferBody(req: Readable, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > max) {
        cleanup();
        req.pause();
        reject(tooLarge(max));
        return;
      }
      chunks.push(c);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    // A client disconnect surfaces as an `aborted` error (or a bare close): not a gateway fault.
    const onGone = (): void => {
      cleanup();
      resolve(undefined);
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onGone);
      req.off('close', onGone);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onGone);
    req.on('close', onGone);
  });
}

/** Counts a chunked (length-less) streamed body and fails it past the limit. */
class LimitStream extends Transform {
  #seen = 0;
  constructor(readonly max: number, readonly ctx: RequestContext) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#seen += chunk.length;
    this.ctx.bodyBytes = this.#seen;
    if (this.#seen > this.max) {
      this.ctx.bodyLimitExceeded = true;
      cb(tooLarge(this.max));
      return;
    }
    cb(null, chunk);
  }
}
