import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigFileSchema, type ConfigFile } from './schema.js';
import { ExpandError, expandValue, type EnvLookup } from './env.js';
import { validateConfig } from './validate.js';
import { isLitellmConfig, convertLitellmConfig } from './litellm.js';
import { deepFreeze } from '../util/freeze.js';

/** A config that loaded: parsed, expanded, validated and deep-frozen. */
export interface LoadedConfig {
  config: ConfigFile;
  /** Which format the file was in. */
  format: 'ditto' | 'litellm';
}

/** Everything that went wrong while loading, each line naming its path. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

/** Options that adjust the file's content before validation. */
export interface LoadOptions {
  /** `--upstream NAME=URL`: add or replace a header-less passthrough backend. */
  upstreams?: ReadonlyArray<{ name: string; url: string }>;
}

/** Format a zod issue path the way users write it: `router.rules[2].backends[0].backend`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out === '' ? '(root)' : out;
}

function zodProblems(error: z.ZodError): string[] {
  return error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
}

/** Read, parse, expand and validate a config file. Throws {@link ConfigError} with every problem. */
export function loadConfigFile(path: string, lookup: EnvLookup, options: LoadOptions = {}): LoadedConfig {
  const ext = extname(path).toLowerCase();
  if (ext !== '' && ext !== '.json' && ext !== '.yaml' && ext !== '.yml') {
    throw new ConfigError([`unsupported gateway config extension ${ext} (use .json, .yaml or .yml)`]);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read config ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  const yaml = ext === '.yaml' || ext === '.yml';
  let doc: unknown;
  try {
    doc = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new ConfigError([`cannot parse config ${path} as ${yaml ? 'YAML' : 'JSON'}: ${(err as Error).message}`]);
  }
  return loadConfigDocument(doc ?? {}, lookup, options);
}

/** Load an already-parsed config document (JSON or YAML value). */
export function loadConfigDocument(doc: unknown, lookup: EnvLookup, options: LoadOptions = {}): LoadedConfig {
  let format: LoadedConfig['format'] = 'ditto';
  if (isLitellmConfig(doc)) {
    format = 'litellm';
    doc = convertLitellmConfig(doc, lookup);
  }
  const parsed = ConfigFileSchema.safeParse(doc);
  if (!parsed.success) throw new ConfigError(zodProblems(parsed.error));
  const cfg = parsed.data;
  for (const u of options.upstreams ?? []) {
    const backend = { name: u.name, base_url: u.url, headers: {}, query_params: {}, model_map: {} };
    const at = cfg.backends.findIndex((b) => b.name === u.name);
    if (at >= 0) cfg.backends[at] = backend;
    else cfg.backends.push(backend);
  }
  const problems = expandConfig(cfg, lookup);
  problems.push(...validateConfig(cfg));
  if (problems.length > 0) throw new ConfigError(problems);
  normalizeRouter(cfg);
  return { config: deepFreeze(cfg), format };
}

/** Expand env/secret placeholders in the fields §2.7 names, in place. Returns the problems. */
function expandConfig(cfg: ConfigFile, lookup: EnvLookup): string[] {
  const problems: string[] = [];
  const ex = (value: string, field: string): string => {
    try {
      return expandValue(value, field, lookup);
    } catch (err) {
      if (err instanceof ExpandError) {
        problems.push(`${field}: ${err.message}`);
        return value;
      }
      throw err;
    }
  };
  const exMap = (m: Record<string, string> | null | undefined, field: string): Record<string, string> | undefined => {
    if (!m) return undefined;
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
    b.headers = exMap(b.headers, `${at}.headers`) ?? {};
    b.query_params = exMap(b.query_params, `${at}.query_params`) ?? {};
    if (b.provider_config) b.provider_config = exDeep(b.provider_config, `${at}.provider_config`) as Record<string, unknown>;
  });
  cfg.virtual_keys.forEach((k, i) => {
    k.token = ex(k.token, `virtual_keys[${i}].token`);
  });
  cfg.mcp_servers.forEach((m, i) => {
    const at = `mcp_servers[${i}]`;
    if (typeof m.url === 'string') m.url = ex(m.url, `${at}.url`);
    if (typeof m.http_url === 'string') m.http_url = ex(m.http_url, `${at}.http_url`);
    m.headers = exMap(m.headers, `${at}.headers`) ?? null;
    m.query_params = exMap(m.query_params, `${at}.query_params`) ?? null;
  });
  cfg.a2a_agents.forEach((a, i) => {
    const at = `a2a_agents[${i}]`;
    if (a.agent_card_params) a.agent_card_params = exDeep(a.agent_card_params, `${at}.agent_card_params`) as Record<string, unknown>;
    a.headers = exMap(a.headers, `${at}.headers`) ?? null;
    a.query_params = exMap(a.query_params, `${at}.query_params`) ?? null;
  });
  return problems;
}

/** Fold the legacy `default_backend` into `default_backends` so the router reads one field. */
function normalizeRouter(cfg: ConfigFile): void {
  const r = cfg.router;
  if ((r.default_backends?.length ?? 0) === 0 && r.default_backend) {
    r.default_backends = [{ backend: r.default_backend, weight: 1 }];
  }
}
