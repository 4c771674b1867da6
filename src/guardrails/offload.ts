import { Worker } from 'node:worker_threads';
import type { GuardrailsConfig } from '../config/schema.js';
import type { GuardrailFacts, GuardrailRejection } from './check.js';

/**
 * Bodies at least this large are checked on a worker thread. A check is linear in the prompt (about
 * 5–10 ms per MiB per pass, a few passes when something looks suspicious), which is nothing for an
 * ordinary prompt but would hold the event loop for seconds on a body near `--proxy-max-body-bytes`;
 * on the worker, health checks and other requests are answered meanwhile.
 */
export const OFFLOAD_MIN_BYTES = 256 * 1024;

/** A check sent to the worker: the policy's config (compiled there once) and the request facts. */
export interface OffloadRequest {
  readonly id: number;
  readonly config: GuardrailsConfig;
  /** The policy's config path, e.g. `virtual_keys[0].guardrails`. */
  readonly path: string;
  readonly method: string;
  readonly requestPath: string;
  readonly model: string | undefined;
  readonly inputTokenEstimate: number | undefined;
  /** True when the body parsed as a JSON object (the worker parses it again). */
  readonly json: boolean;
  readonly rawBody: Uint8Array;
  readonly contentType: string | undefined;
}

/** The worker's answer: a refusal, nothing (passes), or an error (the caller fails closed). */
export interface OffloadReply {
  readonly id: number;
  readonly rejection?: GuardrailRejection | undefined;
  readonly error?: string;
}

interface Pending {
  readonly worker: Worker;
  resolve(r: GuardrailRejection | undefined): void;
  reject(err: Error): void;
}

/**
 * One lazily started worker thread that runs `checkGuardrails` for large bodies, in arrival order.
 * Unreferenced, so it never keeps the process alive; if it dies, every pending check fails (the
 * request is refused with an error, never let through) and the next check starts a new worker.
 */
export class GuardrailOffload {
  #worker: Worker | undefined;
  readonly #pending = new Map<number, Pending>();
  #seq = 0;

  /** Check `facts` against the policy compiled from `config` on the worker thread. */
  check(config: GuardrailsConfig, path: string, facts: GuardrailFacts): Promise<GuardrailRejection | undefined> {
    const body = facts.rawBody ?? Buffer.alloc(0);
    const rawBody = new Uint8Array(body.length);
    rawBody.set(body);
    const req: OffloadRequest = {
      id: ++this.#seq, config, path, method: facts.method, requestPath: facts.path, model: facts.model,
      inputTokenEstimate: facts.inputTokenEstimate, json: facts.json !== undefined, rawBody, contentType: facts.contentType,
    };
    const worker = this.#start();
    return new Promise((resolve, reject) => {
      this.#pending.set(req.id, { worker, resolve, reject });
      worker.postMessage(req, [rawBody.buffer]);
    });
  }

  /** Stop the worker (gateway shutdown); pending checks fail. */
  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = undefined;
    if (w !== undefined) await w.terminate();
  }

  #start(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const w = new Worker(new URL('./worker.js', import.meta.url));
    w.unref();
    w.on('message', (reply: OffloadReply) => {
      const p = this.#pending.get(reply.id);
      if (p === undefined) return;
      this.#pending.delete(reply.id);
      if (reply.error !== undefined) p.reject(new Error(`guardrails worker: ${reply.error}`));
      else p.resolve(reply.rejection);
    });
    const fail = (err: Error): void => {
      if (this.#worker === w) this.#worker = undefined;
      for (const [id, p] of this.#pending) {
        if (p.worker !== w) continue;
        this.#pending.delete(id);
        p.reject(err);
      }
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`guardrails worker exited with code ${code}`)));
    this.#worker = w;
    return w;
  }
}
