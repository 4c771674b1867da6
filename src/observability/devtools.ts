import { createWriteStream, type WriteStream } from 'node:fs';
import type { RequestContext } from '../pipeline/context.js';
import type { Redactor } from './redact.js';
import { sampled } from './sampling.js';

/** Request bodies longer than this (after redaction, in characters) are cut and marked `body_truncated`. */
export const DEVTOOLS_BODY_CAP = 65536;

/**
 * `--devtools PATH` (CONTRACT §4.14): one `proxy.request` and one `proxy.response` JSON line per
 * sampled request (`observability.sampling.devtools_rate`, deterministic by request id), redacted,
 * appended to PATH through a buffered write stream (never blocking a response). Format: README
 * "Devtools capture".
 */
export class Devtools {
  readonly #out: WriteStream;
  #failed = false;

  constructor(readonly path: string, readonly redactor: Redactor, readonly rate: number, onError: (message: string) => void) {
    this.#out = createWriteStream(path, { flags: 'a' });
    this.#out.on('error', (err) => {
      if (this.#failed) return;
      this.#failed = true;
      onError(`devtools capture to ${path} stopped: ${err.message}`);
    });
  }

  /** Write the request and response lines of a finished request (finalizer). */
  record(ctx: RequestContext): void {
    if (this.#failed || !sampled(ctx.id, this.rate, 'devtools')) return;
    const r = this.redactor;
    const request: Record<string, unknown> = {
      event: 'proxy.request',
      ts_ms: ctx.startedAtMs,
      request_id: ctx.id,
      method: ctx.method,
      path: ctx.path,
      query: ctx.query === '' ? null : r.redactUrl(ctx.query),
      headers: r.redactHeaders(ctx.req.headers),
      virtual_key_id: ctx.key?.id ?? null,
      model: ctx.model === undefined ? null : r.redactString(ctx.model),
      body_bytes: ctx.bodyBytes,
      ...this.#body(ctx),
    };
    const error = ctx.error;
    const response: Record<string, unknown> = {
      event: 'proxy.response',
      ts_ms: Date.now(),
      request_id: ctx.id,
      status: ctx.status,
      latency_ms: Math.round(ctx.elapsedMs() * 100) / 100,
      outcome: ctx.outcome,
      backend: ctx.backend ?? null,
      attempts: ctx.attempts.map((a) => ({ backend: a.backend, result: a.result, status: a.status ?? null, duration_ms: Math.round(a.durationMs * 100) / 100 })),
      stream: ctx.streamed,
      response_bytes: ctx.responseBytes,
      error: error ? { code: error.code, message: r.redactString(error.message) } : null,
    };
    this.#out.write(`${JSON.stringify(request)}\n${JSON.stringify(response)}\n`);
  }

  /** The redacted request body: parsed JSON when it was JSON, else text; never an unbuffered upload. */
  #body(ctx: RequestContext): Record<string, unknown> {
    if (ctx.json !== undefined) {
      const doc = this.redactor.redact(ctx.json);
      const text = JSON.stringify(doc);
      return text.length > DEVTOOLS_BODY_CAP ? { body: text.slice(0, DEVTOOLS_BODY_CAP), body_truncated: true } : { body: doc, body_truncated: false };
    }
    if (ctx.body === undefined || ctx.body.length === 0) return { body: null, body_truncated: ctx.bodyStream !== undefined };
    // Read a little past the cap so a secret straddling it is still matched by the regexes.
    const text = this.redactor.redactString(ctx.body.toString('utf8', 0, DEVTOOLS_BODY_CAP + 4096));
    const cut = text.length > DEVTOOLS_BODY_CAP || ctx.body.length > DEVTOOLS_BODY_CAP + 4096;
    return { body: cut ? text.slice(0, DEVTOOLS_BODY_CAP) : text, body_truncated: cut };
  }

  /** Flush and close the file. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#out.closed || this.#out.destroyed) return resolve();
      this.#out.end(() => resolve());
    });
  }
}
