/**
 * A request's cancellation: aborted when the client goes away or the gateway gives up, and every
 * upstream call listens to it.
 *
 * Why not a plain `AbortController`: one per request was ~3% of the gateway's CPU at 64 connections
 * (Node builds the `AbortSignal` EventTarget eagerly, and undici adds and removes an EventTarget
 * listener per request). undici also takes an EventEmitter-shaped signal (`aborted`, `reason`,
 * `on`/`once`/`removeListener`), which this is; a standard `AbortSignal` for APIs that need one
 * (fetch-like calls, `AbortSignal.any`) is created only when asked for, already aborted if need be.
 */
export class RequestAbort {
  aborted = false;
  reason: unknown = undefined;
  #listeners: Array<() => void> | undefined;
  #controller: AbortController | undefined;

  /** A standard `AbortSignal` following this abort (made on first use). */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.aborted) this.#controller.abort(this.reason);
    }
    return this.#controller.signal;
  }

  /** Abort once: listeners run in the order they were added, then the standard signal (if made) aborts. */
  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason ?? new DOMException('This operation was aborted', 'AbortError');
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners !== undefined) for (const fn of listeners) fn();
    this.#controller?.abort(this.reason);
  }

  /** EventEmitter shape (undici): `abort` is the only event, and it fires at most once. */
  on(event: string, fn: () => void): this {
    if (event === 'abort' && !this.aborted) (this.#listeners ??= []).push(fn);
    return this;
  }

  once(event: string, fn: () => void): this {
    return this.on(event, fn);
  }

  removeListener(event: string, fn: () => void): this {
    const ls = this.#listeners;
    if (event === 'abort' && ls !== undefined) {
      const i = ls.indexOf(fn);
      if (i >= 0) ls.splice(i, 1);
    }
    return this;
  }

  /** Listeners currently waiting (for tests: none may be left behind after a request). */
  get listenerCount(): number {
    return this.#listeners?.length ?? 0;
  }
}
