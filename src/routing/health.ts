import type { Agent } from 'undici';
import type { PassthroughBackend } from '../upstream/passthrough.js';

/** Result of the latest probe of one backend. */
export interface ProbeState {
  healthy: boolean;
  /** False until the first probe finished. */
  completed: boolean;
  lastError?: string;
  lastTsMs?: number;
}

/** Active health checks (CONTRACT §4.5): `GET base_url+path` at startup and every interval; 2xx = healthy. */
export class HealthChecker {
  readonly #state = new Map<string, ProbeState>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(
    readonly backends: readonly PassthroughBackend[],
    readonly agent: Agent,
    readonly options: { path: string; intervalMs: number; timeoutMs: number },
  ) {
    for (const b of backends) this.#state.set(b.name, { healthy: false, completed: false });
  }

  /** Probe once now, then every interval. The timer does not keep the process alive. */
  start(): void {
    void this.probeAll();
    this.#timer = setInterval(() => { void this.probeAll(); }, this.options.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Probe every backend concurrently; resolves when all finished. Overlapping calls share one run. */
  probeAll(): Promise<void> {
    if (!this.#running) {
      this.#running = Promise.all(this.backends.map((b) => this.#probe(b))).then(() => { this.#running = undefined; });
    }
    return this.#running;
  }

  async #probe(b: PassthroughBackend): Promise<void> {
    const state = this.#state.get(b.name) as ProbeState;
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    try {
      const url = new URL(b.urlFor(this.options.path, ''));
      const res = await this.agent.request({
        origin: url.origin, path: url.pathname + url.search, method: 'GET',
        headers: { ...b.headers }, signal, headersTimeout: this.options.timeoutMs, bodyTimeout: this.options.timeoutMs,
      });
      await res.body.dump({ limit: 65536 }).catch(() => undefined);
      state.healthy = res.statusCode >= 200 && res.statusCode < 300;
      if (state.healthy) delete state.lastError;
      else state.lastError = `status ${res.statusCode}`;
    } catch (err) {
      state.healthy = false;
      state.lastError = signal.aborted ? 'probe timed out' : ((err as { code?: string }).code ?? (err as Error).message);
    }
    state.completed = true;
    state.lastTsMs = Date.now();
  }

  /** False when the latest probe failed. A backend not probed yet counts as healthy for routing. */
  isHealthy(name: string): boolean {
    const s = this.#state.get(name);
    return !s || !s.completed || s.healthy;
  }

  state(name: string): ProbeState | undefined {
    return this.#state.get(name);
  }

  /** `/ready` checks, one per probed backend (CONTRACT §3.2). */
  readyChecks(): Array<{ name: string; status: 'ok' | 'error'; detail?: string }> {
    return this.backends.map((b) => {
      const s = this.#state.get(b.name) as ProbeState;
      if (!s.completed) return { name: `backend.${b.name}`, status: 'error', detail: 'backend health check has not completed yet' };
      return s.healthy ? { name: `backend.${b.name}`, status: 'ok' } : { name: `backend.${b.name}`, status: 'error', detail: s.lastError ?? 'unhealthy' };
    });
  }
}
