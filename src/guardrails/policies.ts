import type { ConfigFile, GuardrailsConfig } from '../config/schema.js';
import type { GuardrailFacts, GuardrailRejection } from './check.js';
import { checkGuardrails } from './check.js';
import { compileGuardrails, type CompiledGuardrails } from './compile.js';
import { GuardrailOffload, OFFLOAD_MIN_BYTES } from './offload.js';

/**
 * The compiled `guardrails` of every key and router rule, keyed by the (frozen) config object they
 * came from. The startup config is compiled once when the gateway is built; a key or rule added at
 * runtime (admin API, state file) is compiled on its first request and kept, so no pattern is ever
 * compiled per request.
 */
export class GuardrailPolicies {
  readonly #byConfig = new WeakMap<GuardrailsConfig, CompiledGuardrails>();
  readonly #configOf = new WeakMap<CompiledGuardrails, GuardrailsConfig>();
  readonly #offload = new GuardrailOffload();

  /** Compile every key's and rule's guardrails; throws `GuardrailsConfigError` on an invalid one. */
  constructor(config: ConfigFile) {
    config.virtual_keys.forEach((k, i) => {
      if (k.guardrails) this.#compile(k.guardrails, `virtual_keys[${i}].guardrails`);
    });
    (config.router.rules ?? []).forEach((r, i) => {
      if (r.guardrails) this.#compile(r.guardrails, `router.rules[${i}].guardrails`);
    });
  }

  /**
   * The compiled form of a key's or rule's `guardrails` object; undefined when it has none (null or
   * absent). `where` names it in the error if a runtime-added object turns out invalid.
   */
  get(cfg: GuardrailsConfig | null | undefined, where: string): CompiledGuardrails | undefined {
    if (!cfg) return undefined;
    return this.#byConfig.get(cfg) ?? this.#compile(cfg, where);
  }

  /**
   * Check a request: inline for ordinary bodies, on the worker thread for bodies of at least
   * {@link OFFLOAD_MIN_BYTES} whose text is inspected, so the event loop keeps serving meanwhile.
   */
  check(g: CompiledGuardrails, facts: GuardrailFacts): GuardrailRejection | undefined | Promise<GuardrailRejection | undefined> {
    const cfg = g.hasTextRules && (facts.rawBody?.length ?? 0) >= OFFLOAD_MIN_BYTES ? this.#configOf.get(g) : undefined;
    if (cfg !== undefined) {
      // The cheap checks (models, size, schema) first, here: a refusal then ships nothing.
      const early = checkGuardrails({ ...g, hasTextRules: false }, facts);
      return early ?? this.#offload.check(cfg, g.path, facts);
    }
    return checkGuardrails(g, facts);
  }

  /** Stop the worker thread, if one was started. */
  close(): Promise<void> {
    return this.#offload.close();
  }

  #compile(cfg: GuardrailsConfig, path: string): CompiledGuardrails {
    const g = compileGuardrails(cfg, path);
    this.#byConfig.set(cfg, g);
    this.#configOf.set(g, cfg);
    return g;
  }
}
