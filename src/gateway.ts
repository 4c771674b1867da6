import { randomInt } from 'node:crypto';
import type { Agent } from 'undici';
import type { CliOptions } from './cli/args.js';
import type { ConfigFile } from './config/schema.js';
import { unenforcedWarnings } from './config/unenforced.js';
import { KeyIndex } from './auth/keys.js';
import { Router } from './routing/router.js';
import { GuardrailPolicies } from './guardrails/policies.js';
import { CircuitBreaker } from './routing/breaker.js';
import { HealthChecker } from './routing/health.js';
import { createAgent, PassthroughBackend } from './upstream/passthrough.js';
import type { Backend } from './upstream/types.js';
import { createTranslationBackend } from './providers/registry.js';
import { Counters } from './observability/metrics.js';
import { redactingLogger, type Logger } from './observability/logger.js';
import { Redactor } from './observability/redact.js';
import { Telemetry, type TelemetryDeps } from './observability/telemetry.js';
import type { Store } from './store/store.js';
import { Governance } from './usage/governance.js';
import { loadPricingFile, type PricingTable } from './pricing/table.js';

/** Services opened before the gateway is built (CONTRACT §1.4: stores open before backends). */
export interface GatewayDeps {
  store?: Store | undefined;
  /** The `--pricing-litellm` table; when absent and the flag is set, the gateway loads it itself. */
  pricing?: PricingTable | undefined;
  /** Where `--otel-json` spans go (default stderr). */
  telemetry?: TelemetryDeps | undefined;
}

/**
 * Everything a request needs, built once at startup from the frozen config and the CLI options:
 * keys, router, backends, breaker, health checks, counters and the logger. No module-level state.
 */
export class Gateway {
  readonly keys: KeyIndex;
  readonly router: Router;
  /** Every key's and rule's `guardrails`, compiled once. */
  readonly guardrails: GuardrailPolicies;
  readonly backends: ReadonlyMap<string, Backend>;
  readonly breaker: CircuitBreaker | undefined;
  readonly health: HealthChecker | undefined;
  readonly counters = new Counters();
  /** Logger with the `observability` redaction and JSON-log sampling applied. */
  readonly logger: Logger;
  /** Prometheus metrics, tracing and devtools capture (each off unless its flag is set). */
  readonly telemetry: Telemetry;
  readonly agent: Agent;
  /**
   * The persistent governance store (`--sqlite`, `--redis`), opened by the caller before the gateway is
   * built; undefined without a store flag (then governance runs on an in-process memory store).
   */
  readonly store: Store | undefined;
  /** Rate limits, budgets, pricing and settlement state (on `store`, else an in-process memory store). */
  readonly governance: Governance;
  /** Requests holding a global in-flight permit. */
  inFlight = 0;
  /** Set on SIGTERM: responses close their connection so clients reconnect elsewhere. */
  draining = false;
  /**
   * Request-id sequence. It starts at a random point so replicas sharing one store do not mint the
   * same `ditto-<epoch_ms>-<seq>` id in the same millisecond (their reservations would collide).
   */
  #seq = randomInt(0, 2 ** 31);

  constructor(readonly config: ConfigFile, readonly options: CliOptions, logger: Logger, deps: GatewayDeps = {}) {
    this.store = deps.store;
    this.governance = new Governance(deps.store, deps.pricing ?? (options.pricingLitellm !== undefined ? loadPricingFile(options.pricingLitellm) : undefined));
    const obs = config.observability;
    const redactor = new Redactor(obs.redaction);
    this.logger = redactingLogger(logger, redactor, obs.sampling.json_logs_rate);
    this.agent = createAgent();
    this.keys = new KeyIndex(config.virtual_keys);
    this.router = new Router(config.router);
    this.guardrails = new GuardrailPolicies(config);
    const backends = new Map<string, Backend>();
    for (const b of config.backends) {
      if (b.provider) backends.set(b.name, createTranslationBackend(b, { agent: this.agent }));
      else if (b.base_url) backends.set(b.name, new PassthroughBackend(b, this.agent));
    }
    this.backends = backends;
    this.telemetry = new Telemetry(obs, redactor, options, backends, this.logger, deps.telemetry);
    this.breaker = options.circuitBreaker
      ? new CircuitBreaker({
          threshold: options.cbFailureThreshold,
          cooldownMs: options.cbCooldownSecs * 1000,
          countNetwork: options.cbNetworkErrors,
          countTimeout: options.cbTimeoutErrors,
          countServerErrors: options.cbServerErrors,
          extraStatusCodes: new Set(options.cbFailureStatusCodes),
        })
      : undefined;
    const passthrough = [...backends.values()].filter((b): b is PassthroughBackend => b instanceof PassthroughBackend);
    this.health = options.healthChecks
      ? new HealthChecker(passthrough, this.agent, {
          path: options.healthCheckPath,
          intervalMs: options.healthCheckIntervalSecs * 1000,
          timeoutMs: options.healthCheckTimeoutSecs * 1000,
        })
      : undefined;
  }

  /** A fresh request id: `ditto-<epoch_ms>-<seq>` (CONTRACT §4.3). */
  nextRequestId(): string {
    return `ditto-${Date.now()}-${++this.#seq}`;
  }

  /** Start background work (health probes). */
  start(): void {
    for (const w of unenforcedWarnings(this.config)) this.logger.warn(w);
    this.health?.start();
  }

  /**
   * Stop background work and close upstream pools. Runs after the client connections are gone, so
   * whatever upstream work remains (a probe, an abort still settling) gets a second, then is destroyed:
   * a stuck upstream must not keep the process from exiting.
   */
  async close(): Promise<void> {
    this.health?.stop();
    await this.governance.drain();
    await this.guardrails.close();
    await this.telemetry.close();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), 1000); });
    const closed = this.agent.close().then(() => 'closed' as const, () => 'closed' as const);
    if ((await Promise.race([closed, deadline])) === 'late') await this.agent.destroy().catch(() => undefined);
    clearTimeout(timer);
  }
}
