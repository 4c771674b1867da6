import { z } from 'zod';
import { ObservabilitySchema, withDefaults } from './observability.js';

/**
 * The gateway.json / gateway.yaml schema (CONTRACT §2). One schema for JSON and YAML; unknown fields
 * are ignored (zod strips them), the docs' minimal forms (`"limits":{}`, `"route":null`) are accepted.
 * Cross-field rules (unique names, router references) live in `validate.ts`.
 */

const str = z.string();
const strMap = z.record(z.string(), z.string());
const nonNegInt = z.number().int().nonnegative();

/** `{backend, weight}`: one weighted routing candidate (§2.4). */
export const WeightedBackendSchema = z.object({
  backend: str,
  weight: z.number().default(1),
});

/** `limits` / `*_limits` (§2.3, §7.5). */
export const LimitsSchema = z.object({
  rpm: nonNegInt.max(0xffffffff).optional(),
  tpm: nonNegInt.max(0xffffffff).optional(),
  max_parallel: z.number().int().positive().optional(),
});

/** `budget` / `*_budget` (§2.3, §7.6). */
export const BudgetSchema = z.object({
  total_tokens: nonNegInt.optional(),
  total_usd_micros: nonNegInt.optional(),
  duration: str.optional(),
});

/** `guardrails` on keys and router rules (§2.3). Enforced by the guardrails stage. */
export const GuardrailsSchema = z.object({
  allow_models: z.array(str).default([]),
  deny_models: z.array(str).default([]),
  max_input_tokens: nonNegInt.nullish(),
  banned_phrases: z.array(str).default([]),
  banned_regexes: z.array(str).default([]),
  block_pii: z.boolean().default(false),
  validate_schema: z.boolean().default(false),
});

const CacheSchema = z.object({
  enabled: z.boolean().default(false),
  ttl_seconds: nonNegInt.nullish(),
  max_entries: z.number().int().positive().default(1024),
  max_body_bytes: z.number().int().positive().default(1048576),
  max_total_body_bytes: z.number().int().positive().default(67108864),
});

const PassthroughSchema = z.object({
  allow: z.boolean().default(true),
  bypass_cache: z.boolean().default(true),
});

/** A backend: passthrough (`base_url`) or translation (`provider`) (§2.2). */
export const BackendSchema = z.object({
  name: str,
  base_url: str.nullish(),
  provider: str.nullish(),
  provider_config: z.record(z.string(), z.unknown()).nullish(),
  headers: strMap.nullish().transform((v) => v ?? {}),
  query_params: strMap.nullish().transform((v) => v ?? {}),
  max_in_flight: z.number().int().positive().nullish(),
  timeout_seconds: z.number().nonnegative().nullish(),
  model_map: strMap.nullish().transform((v) => v ?? {}),
  /** `provider: "mock"` only: artificial delay before the first byte. */
  mock_latency_ms: nonNegInt.nullish(),
  /** `provider: "mock"` only: the model ids it lists on `/v1/models`. */
  mock_models: z.array(str).nullish(),
});

/** A virtual key (§2.3). */
export const VirtualKeySchema = z.object({
  id: str,
  token: str,
  enabled: z.boolean().default(true),
  tenant_id: str.nullish(),
  project_id: str.nullish(),
  user_id: str.nullish(),
  limits: LimitsSchema.nullish(),
  budget: BudgetSchema.nullish(),
  tenant_limits: LimitsSchema.nullish(),
  project_limits: LimitsSchema.nullish(),
  user_limits: LimitsSchema.nullish(),
  tenant_budget: BudgetSchema.nullish(),
  project_budget: BudgetSchema.nullish(),
  user_budget: BudgetSchema.nullish(),
  cache: CacheSchema.nullish(),
  passthrough: PassthroughSchema.nullish(),
  guardrails: GuardrailsSchema.nullish(),
  route: str.nullish(),
});

/** A router rule (§2.4). */
export const RouterRuleSchema = z.object({
  model_prefix: str,
  exact: z.boolean().default(false),
  backend: str.nullish(),
  backends: z.array(WeightedBackendSchema).nullish(),
  guardrails: GuardrailsSchema.nullish(),
});

/** The router (§2.4). */
export const RouterSchema = z.object({
  default_backends: z.array(WeightedBackendSchema).nullish(),
  default_backend: str.nullish(),
  rules: z.array(RouterRuleSchema).nullish(),
});

const McpServerSchema = z.object({
  server_id: str,
  url: str.nullish(),
  http_url: str.nullish(),
  headers: strMap.nullish(),
  query_params: strMap.nullish(),
  timeout_seconds: z.number().nonnegative().nullish(),
});

const A2aAgentSchema = z.object({
  agent_id: str,
  agent_card_params: z.record(z.string(), z.unknown()).nullish(),
  headers: strMap.nullish(),
  query_params: strMap.nullish(),
  timeout_seconds: z.number().nonnegative().nullish(),
});

/** The whole config file (§2.1). Every top-level section is optional. */
export const ConfigFileSchema = z.object({
  backends: z.array(BackendSchema).nullish().transform((v) => v ?? []),
  virtual_keys: z.array(VirtualKeySchema).nullish().transform((v) => v ?? []),
  router: RouterSchema.nullish().transform((v) => v ?? {}),
  mcp_servers: z.array(McpServerSchema).nullish().transform((v) => v ?? []),
  a2a_agents: z.array(A2aAgentSchema).nullish().transform((v) => v ?? []),
  observability: withDefaults(ObservabilitySchema),
});

export type ConfigFile = z.infer<typeof ConfigFileSchema>;
export type BackendConfig = z.infer<typeof BackendSchema>;
export type VirtualKeyConfig = z.infer<typeof VirtualKeySchema>;
export type RouterConfig = z.infer<typeof RouterSchema>;
export type RouterRuleConfig = z.infer<typeof RouterRuleSchema>;
export type WeightedBackend = z.infer<typeof WeightedBackendSchema>;
export type GuardrailsConfig = z.infer<typeof GuardrailsSchema>;
export type LimitsConfig = z.infer<typeof LimitsSchema>;
export type BudgetConfig = z.infer<typeof BudgetSchema>;
