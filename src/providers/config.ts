/**
 * `provider_config` of translation backends (CONTRACT §2.2): the schema, the provider ids this build serves, startup
 * checks, and auth resolution. Auth is sugar for one request header or query parameter whose value comes from the
 * environment: it is resolved once at load time (like `${VAR}` expansion, CONTRACT §2.7) into `http_headers` /
 * `http_query_params`, so a missing variable is a fatal startup error and the running gateway never reads the env.
 */
import { z } from 'zod';
import type { BackendConfig, ConfigFile } from '../config/schema.js';
import type { EnvLookup } from '../config/env.js';

/** Provider ids this build can serve as translation backends (`registry.ts` maps each to its factory). */
export const PROVIDER_IDS = ['mock', 'anthropic', 'google', 'openai', 'openai-compatible'] as const;

/** A provider id. */
export type ProviderId = (typeof PROVIDER_IDS)[number];

/** True when `id` is a provider this build serves. */
export function isProviderId(id: string): id is ProviderId {
  return (PROVIDER_IDS as readonly string[]).includes(id);
}

const strMap = z.record(z.string(), z.string());
const keys = z.array(z.string()).default([]);

/** `provider_config.auth` (the env-based variants; command/sigv4 variants are rejected at startup). */
const AuthSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('api_key_env'), keys }),
  z.object({ type: z.literal('http_header_env'), header: z.string().min(1), keys, prefix: z.string().optional() }),
  z.object({ type: z.literal('query_param_env'), param: z.string().min(1), keys, prefix: z.string().optional() }),
]);

/** `provider_config` (unknown fields ignored; `upstream_api`, `normalize_*` accepted and unused). */
export const ProviderConfigSchema = z.object({
  provider: z.string().optional(),
  enabled_capabilities: z.array(z.string()).optional(),
  base_url: z.string().optional(),
  default_model: z.string().optional(),
  model_whitelist: z.array(z.string()).default([]),
  http_headers: strMap.default({}),
  http_query_params: strMap.default({}),
  auth: AuthSchema.optional(),
});

/** A parsed `provider_config`. */
export type ProviderConfig = z.infer<typeof ProviderConfigSchema>;

/** How each HTTP provider authenticates by default: header, value prefix, env vars tried in order. */
export const DEFAULT_AUTH: Readonly<Record<Exclude<ProviderId, 'mock'>, { header: string; prefix: string; keys: readonly string[]; required: boolean }>> = {
  anthropic: { header: 'x-api-key', prefix: '', keys: ['ANTHROPIC_API_KEY'], required: true },
  google: { header: 'x-goog-api-key', prefix: '', keys: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'], required: true },
  openai: { header: 'authorization', prefix: 'Bearer ', keys: ['OPENAI_API_KEY'], required: true },
  'openai-compatible': { header: 'authorization', prefix: 'Bearer ', keys: [], required: false },
};

/** Default upstream roots. `openai-compatible` has none: its `base_url` is required. */
export const DEFAULT_BASE_URL: Readonly<Partial<Record<ProviderId, string>>> = {
  anthropic: 'https://api.anthropic.com',
  google: 'https://generativelanguage.googleapis.com/v1beta',
  openai: 'https://api.openai.com/v1',
};

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Parse a backend's `provider_config` (absent = all defaults). Throws only on a schema violation. */
export function parseProviderConfig(raw: unknown): ProviderConfig {
  return ProviderConfigSchema.parse(raw ?? {});
}

/** Startup checks for one translation backend's `provider_config` (CONTRACT §2.8 style: each message names its path). */
export function validateProviderConfig(b: BackendConfig, at: string, unresolved: ReadonlySet<string>): string[] {
  const provider = b.provider ?? '';
  if (!isProviderId(provider) || provider === 'mock') return [];
  const errors: string[] = [];
  const p = `${at}.provider_config`;
  const raw = b.provider_config ?? {};
  const auth = raw['auth'];
  if (auth && typeof auth === 'object' && !Array.isArray(auth)) {
    const type = (auth as { type?: unknown }).type;
    if (type !== 'api_key_env' && type !== 'http_header_env' && type !== 'query_param_env') {
      errors.push(`${p}.auth.type: unsupported auth type ${JSON.stringify(type)} (supported: api_key_env, http_header_env, query_param_env)`);
      return errors;
    }
  }
  const parsed = ProviderConfigSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) errors.push(`${p}.${issue.path.map(String).join('.')}: ${issue.message}`);
    return errors;
  }
  const pc = parsed.data;
  if (pc.provider !== undefined && pc.provider !== '' && pc.provider !== provider) {
    errors.push(`${p}.provider: "${pc.provider}" does not match backend provider "${provider}"`);
  }
  if (!unresolved.has(`${p}.base_url`)) {
    const base = pc.base_url ?? DEFAULT_BASE_URL[provider];
    if (base === undefined || base.trim() === '') errors.push(`${p}.base_url: required for provider "${provider}"`);
    else {
      let url: URL | undefined;
      try { url = new URL(base); } catch { errors.push(`${p}.base_url: not a valid URL`); }
      if (url && url.protocol !== 'http:' && url.protocol !== 'https:') errors.push(`${p}.base_url: must be http:// or https://`);
    }
  }
  for (const [name, value] of Object.entries(pc.http_headers)) {
    if (!HEADER_NAME.test(name)) errors.push(`${p}.http_headers: invalid header name "${name}"`);
    else if (/[\r\n\0]/.test(value)) errors.push(`${p}.http_headers.${name}: invalid header value (control characters)`);
  }
  if (pc.auth?.type === 'http_header_env' && !HEADER_NAME.test(pc.auth.header)) errors.push(`${p}.auth.header: invalid header name "${pc.auth.header}"`);
  if (pc.model_whitelist.length > 0 && pc.default_model !== undefined && !pc.model_whitelist.includes(pc.default_model)) {
    errors.push(`${p}.default_model: "${pc.default_model}" is not in model_whitelist`);
  }
  return errors;
}

/**
 * Resolve every translation backend's `auth` from the environment, in place (before the config is frozen): the key
 * becomes an `http_headers` entry (or an `http_query_params` entry for `query_param_env`); explicit `http_headers` /
 * `http_query_params` of the same name win. `keys` are env var names tried in order (empty: the provider's defaults).
 * Without `auth`, the provider's default variables are tried; `anthropic`, `google` and `openai` need one unless
 * `http_headers` already sets their auth header. Returns one `missing env var: X` problem per unresolvable backend.
 */
export function resolveProviderAuth(cfg: ConfigFile, lookup: EnvLookup): string[] {
  const problems: string[] = [];
  cfg.backends.forEach((b, i) => {
    const provider = b.provider ?? '';
    if (!isProviderId(provider) || provider === 'mock') return;
    const parsed = ProviderConfigSchema.safeParse(b.provider_config ?? {});
    if (!parsed.success) return; // reported by validation
    const pc = parsed.data;
    const def = DEFAULT_AUTH[provider];
    const at = `backends[${i}].provider_config.auth`;
    const a = pc.auth;
    const names = a && a.keys.length > 0 ? a.keys : def.keys;
    const headers = lowerKeys(pc.http_headers);
    let value: string | undefined;
    for (const n of names) {
      value = lookup(n.trim());
      if (value !== undefined && value.trim() !== '') break;
      value = undefined;
    }
    const out: Record<string, unknown> = { ...(b.provider_config ?? {}) };
    if (value === undefined) {
      const headerSet = a === undefined && headers[def.header] !== undefined;
      if ((a !== undefined || def.required) && !headerSet) {
        const first = names[0] ?? '';
        problems.push(first === ''
          ? `${at}.keys: no env var names given`
          : `${at}: missing env var: ${first}${names.length > 1 ? ` (none of ${names.join(', ')} is set)` : ''}`);
      }
    } else if (a?.type === 'query_param_env') {
      out['http_query_params'] = { [a.param]: (a.prefix ?? '') + value, ...pc.http_query_params };
    } else {
      const header = a?.type === 'http_header_env' ? a.header.toLowerCase() : def.header;
      const prefix = a?.type === 'http_header_env' ? a.prefix ?? '' : def.prefix;
      out['http_headers'] = { [header]: prefix + value, ...headers };
    }
    b.provider_config = out;
  });
  return problems;
}

function lowerKeys(m: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) out[k.toLowerCase()] = v;
  return out;
}
