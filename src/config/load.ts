import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type * as YamlModule from 'yaml';
import { ConfigFileSchema, type ConfigFile } from './schema.js';
import type { EnvLookup } from './env.js';
import { expandConfig } from './expand.js';
import { formatIssues } from './issues.js';
import { validateConfig } from './validate.js';
import { isLitellmConfig, convertLitellmConfig, LitellmConfigError } from './litellm.js';
import { deepFreeze } from '../util/freeze.js';
import { lazyRequire } from '../util/lazy-require.js';
import { resolveProviderAuth } from '../providers/config.js';

/** The `yaml` package, loaded on the first YAML config only (a JSON-configured gateway never pays its memory). */
const loadYaml = lazyRequire<typeof YamlModule>('yaml');

export { formatPath } from './issues.js';

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
  /**
   * The document came from YAML: a native parse failure then falls back to LiteLLM, and when both
   * fail the message names both (CONTRACT §2.9).
   */
  yaml?: boolean;
}

/** Read, parse, expand and validate a config file. Throws {@link ConfigError} with every problem. */
export function loadConfigFile(path: string, lookup: EnvLookup, options: LoadOptions = {}): LoadedConfig {
  const ext = extname(path).toLowerCase();
  if (ext !== '' && ext !== '.json' && ext !== '.yaml' && ext !== '.yml') {
    throw new ConfigError([`unsupported gateway config extension ${ext} (use .json, .yaml or .yml): ${path}`]);
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
    // YAML merge keys (`<<: *defaults`) are common in LiteLLM configs; PyYAML reads them, so do we.
    doc = yaml ? loadYaml().parse(text, { merge: true }) : JSON.parse(text);
  } catch (err) {
    throw new ConfigError([`cannot parse config ${path} as ${yaml ? 'YAML' : 'JSON'}: ${(err as Error).message}`]);
  }
  return loadConfigDocument(doc ?? {}, lookup, { ...options, yaml });
}

/** Load an already-parsed config document (JSON or YAML value). */
export function loadConfigDocument(doc: unknown, lookup: EnvLookup, options: LoadOptions = {}): LoadedConfig {
  const { config: cfg, format } = parseDocument(doc, options.yaml === true);
  for (const u of options.upstreams ?? []) {
    const backend = { name: u.name, base_url: u.url, headers: {}, query_params: {}, model_map: {} };
    const at = cfg.backends.findIndex((b) => b.name === u.name);
    if (at >= 0) cfg.backends[at] = backend;
    else cfg.backends.push(backend);
  }
  const { problems, unresolved } = expandConfig(cfg, lookup);
  problems.push(...validateConfig(cfg, unresolved));
  if (problems.length === 0) problems.push(...resolveProviderAuth(cfg, lookup));
  if (problems.length > 0) throw new ConfigError(problems);
  normalizeRouter(cfg);
  return { config: deepFreeze(cfg), format };
}

/** Schema-parse a document, converting LiteLLM configs first (§2.9). */
function parseDocument(doc: unknown, yaml: boolean): LoadedConfig {
  if (isLitellmConfig(doc)) return { config: parseConverted(doc), format: 'litellm' };
  const parsed = ConfigFileSchema.safeParse(doc, { reportInput: true });
  if (parsed.success) return { config: parsed.data, format: 'ditto' };
  const problems = formatIssues(parsed.error);
  // Ditto falls back to LiteLLM when a YAML file is not a valid native config; only a document that
  // could be one (a mapping with `model_list`, or no mapping at all) gets the combined message.
  const record = doc !== null && typeof doc === 'object' && !Array.isArray(doc);
  if (yaml && (!record || 'model_list' in doc)) {
    try {
      return { config: parseConverted(doc), format: 'litellm' };
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      throw new ConfigError([
        `failed to parse config as ditto gateway yaml (${problems.join('; ')}) or litellm proxy yaml (${err.problems.join('; ')})`,
      ]);
    }
  }
  throw new ConfigError(problems);
}

function parseConverted(doc: unknown): ConfigFile {
  let converted: unknown;
  try {
    converted = convertLitellmConfig(doc);
  } catch (err) {
    if (err instanceof LitellmConfigError) throw new ConfigError([err.message]);
    throw err;
  }
  const parsed = ConfigFileSchema.safeParse(converted, { reportInput: true });
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error));
  return parsed.data;
}

/** Fold the legacy `default_backend` into `default_backends` so the router reads one field. */
function normalizeRouter(cfg: ConfigFile): void {
  const r = cfg.router;
  if ((r.default_backends?.length ?? 0) === 0 && r.default_backend) {
    r.default_backends = [{ backend: r.default_backend, weight: 1 }];
  }
}
