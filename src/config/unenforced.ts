import type { ConfigFile } from './schema.js';

/**
 * Config fields this build accepts (so existing Ditto/LiteLLM configs load) but does not enforce yet.
 * Startup prints one warning per field present, so nobody believes a budget protects them when it
 * does not. Remove an entry in the same change that makes its stage real.
 */
const KEY_FIELDS = ['cache'] as const;

/** Human-readable warnings for configured-but-not-yet-enforced fields. */
export function unenforcedWarnings(cfg: ConfigFile): string[] {
  const out: string[] = [];
  cfg.virtual_keys.forEach((k, i) => {
    for (const f of KEY_FIELDS) {
      if (isActive(k[f])) out.push(`virtual_keys[${i}].${f} is accepted but not enforced by this version`);
    }
  });
  if (cfg.mcp_servers.length > 0) out.push('mcp_servers are accepted but not served by this version');
  if (cfg.a2a_agents.length > 0) out.push('a2a_agents are accepted but not served by this version');
  return out;
}

/** True when a sub-object sets anything: a non-empty list, `true`, a number or a non-empty string. */
function isActive(v: unknown): boolean {
  if (!v || typeof v !== 'object') return false;
  return Object.entries(v).some(([k, x]) => {
    if (k === 'max_entries' || k === 'max_body_bytes' || k === 'max_total_body_bytes') return false; // cache defaults
    if (Array.isArray(x)) return x.length > 0;
    if (typeof x === 'boolean') return x;
    if (typeof x === 'number') return true;
    return typeof x === 'string' && x !== '';
  });
}
