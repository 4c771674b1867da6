import type { ConfigFile } from './schema.js';
import { ExpandError, expandValue, type EnvLookup } from './env.js';

/** What expansion found: every problem, and the fields left unexpanded because of one. */
export interface ExpandResult {
  problems: string[];
  /** Config paths whose placeholders did not resolve; validation skips checks on them. */
  unresolved: Set<string>;
}

/**
 * Expand env/secret placeholders (CONTRACT §2.7) in place, in exactly the fields the contract names:
 * `backends[].base_url/headers/query_params` and every string of `provider_config`;
 * `virtual_keys[].token`; `mcp_servers[].url/headers/query_params`; `a2a_agents[].agent_card_params`
 * (recursive), `headers`, `query_params`. Every failure is collected, each naming its field.
 */
export function expandConfig(cfg: ConfigFile, lookup: EnvLookup): ExpandResult {
  const problems: string[] = [];
  const unresolved = new Set<string>();
  const ex = (value: string, field: string): string => {
    try {
      return expandValue(value, field, lookup);
    } catch (err) {
      if (!(err instanceof ExpandError)) throw err;
      // Secret failures already name the field (`failed to resolve secret for <field>: …`).
      problems.push(err.message.startsWith('failed to resolve secret for ') ? err.message : `${field}: ${err.message}`);
      unresolved.add(field);
      return value;
    }
  };
  const exMap = (m: Readonly<Record<string, string>>, field: string): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(m)) out[k] = ex(v, `${field}.${k}`);
    return out;
  };
  const exDeep = (v: unknown, field: string): unknown => {
    if (typeof v === 'string') return ex(v, field);
    if (Array.isArray(v)) return v.map((x, i) => exDeep(x, `${field}[${i}]`));
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = exDeep(x, `${field}.${k}`);
      return out;
    }
    return v;
  };
  cfg.backends.forEach((b, i) => {
    const at = `backends[${i}]`;
    if (typeof b.base_url === 'string') b.base_url = ex(b.base_url, `${at}.base_url`);
    b.headers = exMap(b.headers, `${at}.headers`);
    b.query_params = exMap(b.query_params, `${at}.query_params`);
    if (b.provider_config) b.provider_config = exDeep(b.provider_config, `${at}.provider_config`) as Record<string, unknown>;
  });
  cfg.virtual_keys.forEach((k, i) => {
    k.token = ex(k.token, `virtual_keys[${i}].token`);
  });
  cfg.mcp_servers.forEach((m, i) => {
    const at = `mcp_servers[${i}]`;
    if (typeof m.url === 'string') m.url = ex(m.url, `${at}.url`);
    if (typeof m.http_url === 'string') m.http_url = ex(m.http_url, `${at}.http_url`);
    if (m.headers) m.headers = exMap(m.headers, `${at}.headers`);
    if (m.query_params) m.query_params = exMap(m.query_params, `${at}.query_params`);
  });
  cfg.a2a_agents.forEach((a, i) => {
    const at = `a2a_agents[${i}]`;
    if (a.agent_card_params) a.agent_card_params = exDeep(a.agent_card_params, `${at}.agent_card_params`) as Record<string, unknown>;
    if (a.headers) a.headers = exMap(a.headers, `${at}.headers`);
    if (a.query_params) a.query_params = exMap(a.query_params, `${at}.query_params`);
  });
  return { problems, unresolved };
}
