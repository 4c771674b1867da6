import { createHash } from 'node:crypto';
import type { ConfigFile, GuardrailsConfig } from './schema.js';
import { validateObservability } from './observability.js';
import { validateGuardrailsConfig } from '../guardrails/compile.js';
import { PROVIDER_IDS, validateProviderConfig } from '../providers/config.js';

/** Providers this build can serve as translation backends (the provider registry's ids, `src/providers/registry.ts`). */
export const SUPPORTED_PROVIDERS = PROVIDER_IDS;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const SHA256_FORM = /^sha256:[0-9a-fA-F]{64}$/;

/** SHA-256 hex of a token as stored: `sha256:<hex>` forms are taken as given, others hashed trimmed. */
export function tokenDigestHex(token: string): string {
  const t = token.trim();
  if (SHA256_FORM.test(t)) return t.slice(7).toLowerCase();
  return createHash('sha256').update(t, 'utf8').digest('hex');
}

/**
 * Cross-field startup validation (CONTRACT §2.4, §2.8, §1.4). Returns every problem, each naming
 * its config path; an empty list means the config is usable. Fields in `unresolved` (placeholders
 * that failed to expand, already reported) are not checked again.
 */
export function validateConfig(cfg: ConfigFile, unresolved: ReadonlySet<string> = new Set()): string[] {
  const errors: string[] = [];
  const backendNames = new Set<string>();

  cfg.backends.forEach((b, i) => {
    const at = `backends[${i}]`;
    if (b.name.trim() === '') errors.push(`${at}.name cannot be empty`);
    else if (backendNames.has(b.name)) errors.push(`duplicate backend name \`${b.name}\` (${at})`);
    backendNames.add(b.name);
    const hasBase = typeof b.base_url === 'string' && b.base_url.trim() !== '';
    const hasProvider = typeof b.provider === 'string' && b.provider.trim() !== '';
    if (hasBase && hasProvider) errors.push(`${at}: backend "${b.name}" cannot have both provider and base_url`);
    if (!hasBase && !hasProvider) errors.push(`${at}.base_url: required for a passthrough backend (or set provider for a translation backend)`);
    if (hasBase && !unresolved.has(`${at}.base_url`)) {
      let url: URL | undefined;
      try { url = new URL(b.base_url as string); } catch { errors.push(`${at}.base_url: not a valid URL`); }
      if (url && url.protocol !== 'http:' && url.protocol !== 'https:') errors.push(`${at}.base_url: must be http:// or https://`);
    }
    if (hasProvider && !(SUPPORTED_PROVIDERS as readonly string[]).includes(b.provider as string)) {
      errors.push(`${at}.provider: unsupported provider "${b.provider}" (supported: ${SUPPORTED_PROVIDERS.join(', ')})`);
    } else if (hasProvider && !hasBase) {
      errors.push(...validateProviderConfig(b, at, unresolved));
    }
    for (const [name, value] of Object.entries(b.headers)) {
      if (!HEADER_NAME.test(name)) errors.push(`${at}.headers: invalid header name "${name}"`);
      else if (/[\r\n\0]/.test(value)) errors.push(`${at}.headers.${name}: invalid header value (control characters)`);
    }
  });

  const ids = new Map<string, number>();
  const digests = new Map<string, number>();
  cfg.virtual_keys.forEach((k, i) => {
    const at = `virtual_keys[${i}]`;
    if (k.id.trim() === '') errors.push(`${at}.id cannot be empty`);
    else {
      const prev = ids.get(k.id);
      if (prev !== undefined) errors.push(`duplicate virtual key id \`${k.id}\` (virtual_keys[${prev}] and ${at})`);
      else ids.set(k.id, i);
    }
    if (unresolved.has(`${at}.token`)) {
      // Reported by expansion; a placeholder is not the token, so it is not compared either.
    } else if (k.token.trim() === '') errors.push(`${at}.token cannot be empty`);
    else if (/^sha256:/i.test(k.token.trim()) && !SHA256_FORM.test(k.token.trim())) {
      errors.push(`${at}.token: a sha256: token must be "sha256:" followed by 64 hex digits`);
    } else {
      const d = tokenDigestHex(k.token);
      const prev = digests.get(d);
      if (prev !== undefined) errors.push(`duplicate virtual key token (virtual_keys[${prev}] and ${at})`);
      else digests.set(d, i);
    }
    if (k.route != null && k.route !== '' && !backendNames.has(k.route)) {
      errors.push(`${at}.route references unknown backend: ${k.route}`);
    }
    if (k.guardrails) errors.push(...validateGuardrails(k.guardrails, `${at}.guardrails`));
  });

  const r = cfg.router;
  const unknown = new Set<string>();
  const checkRef = (name: string, at: string): void => {
    if (name.trim() === '') return;
    if (!backendNames.has(name)) {
      unknown.add(name);
      errors.push(`${at}: unknown backend "${name}"`);
    }
  };
  if (r.default_backend && (r.default_backends?.length ?? 0) > 0) {
    errors.push('router: default_backend cannot be combined with default_backends (use default_backends)');
  }
  if (r.default_backend) checkRef(r.default_backend, 'router.default_backend');
  (r.default_backends ?? []).forEach((wb, j) => checkRef(wb.backend, `router.default_backends[${j}].backend`));
  (r.rules ?? []).forEach((rule, i) => {
    const at = `router.rules[${i}]`;
    if (rule.model_prefix.trim() === '') errors.push(`${at}.model_prefix cannot be empty`);
    const hasList = (rule.backends?.length ?? 0) > 0;
    if (!hasList && !(rule.backend && rule.backend.trim() !== '')) errors.push(`${at}: needs backend or backends`);
    if (hasList) rule.backends?.forEach((wb, j) => checkRef(wb.backend, `${at}.backends[${j}].backend`));
    else if (rule.backend) checkRef(rule.backend, `${at}.backend`);
    if (rule.guardrails) errors.push(...validateGuardrails(rule.guardrails, `${at}.guardrails`));
  });
  if (unknown.size > 0) errors.push(`router references unknown backends: ${[...unknown].sort().join(', ')}`);
  errors.push(...validateToolServers(cfg, unresolved), ...validateObservability(cfg.observability));
  return errors;
}

/** `mcp_servers[]` and `a2a_agents[]` (§2.5): unique non-empty ids and a usable endpoint URL. */
function validateToolServers(cfg: ConfigFile, unresolved: ReadonlySet<string>): string[] {
  const errors: string[] = [];
  const checkUrl = (url: unknown, at: string): void => {
    if (unresolved.has(at)) return;
    if (typeof url !== 'string' || url.trim() === '') {
      errors.push(`${at}: required`);
      return;
    }
    let u: URL | undefined;
    try { u = new URL(url); } catch { errors.push(`${at}: not a valid URL`); }
    if (u && u.protocol !== 'http:' && u.protocol !== 'https:') errors.push(`${at}: must be http:// or https://`);
  };
  const mcpIds = new Map<string, number>();
  cfg.mcp_servers.forEach((m, i) => {
    const at = `mcp_servers[${i}]`;
    if (m.server_id.trim() === '') errors.push(`${at}.server_id cannot be empty`);
    else if (mcpIds.has(m.server_id)) errors.push(`duplicate mcp server id \`${m.server_id}\` (mcp_servers[${mcpIds.get(m.server_id)}] and ${at})`);
    else mcpIds.set(m.server_id, i);
    const useHttpUrl = (m.url == null || m.url === '') && m.http_url != null;
    checkUrl(useHttpUrl ? m.http_url : m.url, useHttpUrl ? `${at}.http_url` : `${at}.url`);
  });
  const agentIds = new Map<string, number>();
  cfg.a2a_agents.forEach((a, i) => {
    const at = `a2a_agents[${i}]`;
    if (a.agent_id.trim() === '') errors.push(`${at}.agent_id cannot be empty`);
    else if (agentIds.has(a.agent_id)) errors.push(`duplicate a2a agent id \`${a.agent_id}\` (a2a_agents[${agentIds.get(a.agent_id)}] and ${at})`);
    else agentIds.set(a.agent_id, i);
    checkUrl(a.agent_card_params?.['url'], `${at}.agent_card_params.url`);
  });
  return errors;
}

/**
 * Startup checks for a guardrails object (§2.8), by the guardrails engine itself: every banned regex
 * must compile on the linear-time matcher (no look-around, backreferences or empty matches), and no
 * model pattern or banned phrase may be empty. Each error reads `<at> invalid: <field>[i]: <why>`.
 */
export function validateGuardrails(g: GuardrailsConfig, at: string): string[] {
  return validateGuardrailsConfig(g, at);
}
