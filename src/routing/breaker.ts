/** Which failures count toward opening the breaker (CONTRACT §4.5). */
export interface BreakerPolicy {
  threshold: number;
  cooldownMs: number;
  countNetwork: boolean;
  countTimeout: boolean;
  countServerErrors: boolean;
  extraStatusCodes: ReadonlySet<number>;
}

/** How one upstream attempt ended, as the breaker and the retry logic see it. */
export type AttemptFailure = { kind: 'network' | 'timeout'; message: string } | { kind: 'status'; status: number };

/** Per-backend breaker state, also shown by the admin API later. */
export interface BreakerSnapshot {
  consecutive_failures: number;
  unhealthy_until_epoch_seconds: number;
  last_error?: string;
  last_failure_ts_ms?: number;
}

/**
 * A consecutive-failure circuit breaker per backend, per process. At `threshold` consecutive
 * failures the backend is skipped until `now + cooldown`; after that it is tried again and a
 * failure re-opens it at once, a success closes it.
 */
export class CircuitBreaker {
  readonly #state = new Map<string, { failures: number; until: number; lastError?: string; lastTs?: number }>();

  constructor(readonly policy: BreakerPolicy, readonly now: () => number = Date.now) {}

  /** Whether a failure of this kind counts toward the breaker. */
  counts(f: AttemptFailure): boolean {
    if (f.kind !== 'status') return f.kind === 'network' ? this.policy.countNetwork : this.policy.countTimeout;
    return (this.policy.countServerErrors && f.status >= 500) || this.policy.extraStatusCodes.has(f.status);
  }

  /** True while the backend's breaker is open (cooling down). */
  isOpen(backend: string): boolean {
    const s = this.#state.get(backend);
    return s !== undefined && s.until > this.now();
  }

  recordSuccess(backend: string): void {
    const s = this.#state.get(backend);
    if (s) { s.failures = 0; s.until = 0; }
  }

  recordFailure(backend: string, f: AttemptFailure): void {
    if (!this.counts(f)) return;
    let s = this.#state.get(backend);
    if (!s) { s = { failures: 0, until: 0 }; this.#state.set(backend, s); }
    s.failures++;
    s.lastError = f.kind === 'status' ? `status ${f.status}` : `${f.kind}: ${f.message}`;
    s.lastTs = this.now();
    if (s.failures >= this.policy.threshold) s.until = this.now() + this.policy.cooldownMs;
  }

  snapshot(backend: string): BreakerSnapshot {
    const s = this.#state.get(backend);
    const snap: BreakerSnapshot = { consecutive_failures: s?.failures ?? 0, unhealthy_until_epoch_seconds: s && s.until > 0 ? Math.ceil(s.until / 1000) : 0 };
    if (s?.lastError !== undefined) snap.last_error = s.lastError;
    if (s?.lastTs !== undefined) snap.last_failure_ts_ms = s.lastTs;
    return snap;
  }

  reset(backend: string): void {
    this.#state.delete(backend);
  }
}
