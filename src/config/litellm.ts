/**
 * LiteLLM `proxy_config.yaml` ingestion (CONTRACT §2.9). Only `model_list[].model_name`,
 * `litellm_params.{model,api_base,api_key,api_version,timeout,stream_timeout}` and
 * `general_settings.master_key` are read; everything else in the file is ignored. The result is a
 * ditto config document that then goes through the normal schema, env expansion and validation,
 * so `os.environ/X` values resolve (and fail) exactly like placeholders in a native config.
 */

/** Where a `"*"` group is missing, requests for unmatched models go here (§2.9). */
export const LITELLM_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/** The id of the single virtual key made from `general_settings.master_key`. */
export const LITELLM_MASTER_KEY_ID = 'litellm_master_key';

/** A LiteLLM config that cannot be converted; the message is the contract's fatal message. */
export class LitellmConfigError extends Error {}

/** A document with top-level `model_list` and none of `backends`/`router`/`virtual_keys` (§2.9). */
export function isLitellmConfig(doc: unknown): doc is Record<string, unknown> {
  if (!isRecord(doc)) return false;
  return 'model_list' in doc && !('backends' in doc) && !('router' in doc) && !('virtual_keys' in doc);
}

interface Deployment {
  index: number;
  modelName: string;
  backend: string;
}

interface LitellmBackend {
  name: string;
  base_url: string;
  headers: Record<string, string>;
  query_params?: Record<string, string>;
  timeout_seconds?: number;
  model_map?: Record<string, string>;
}

interface LitellmRule {
  model_prefix: string;
  exact: boolean;
  backend?: string;
  backends?: Array<{ backend: string; weight: number }>;
}

/**
 * Convert a LiteLLM proxy config into a ditto config document (placeholders left for expansion).
 * Throws {@link LitellmConfigError} for an empty `model_list` or an empty `model_name`.
 */
export function convertLitellmConfig(doc: unknown): Record<string, unknown> {
  if (!isRecord(doc)) throw new LitellmConfigError('litellm config missing model_list');
  const list = doc['model_list'];
  if (!Array.isArray(list) || list.length === 0) throw new LitellmConfigError('litellm config missing model_list');

  const backends: LitellmBackend[] = [];
  const deployments: Deployment[] = [];
  list.forEach((entry: unknown, index) => {
    const e = isRecord(entry) ? entry : {};
    const modelName = scalarString(e['model_name'])?.trim() ?? '';
    if (modelName === '') throw new LitellmConfigError(`litellm config model_list[${index}].model_name cannot be empty`);
    const params = isRecord(e['litellm_params']) ? e['litellm_params'] : {};
    const backend = convertDeployment(index, modelName, params);
    backends.push(backend);
    deployments.push({ index, modelName, backend: backend.name });
  });

  const doc2: Record<string, unknown> = { backends, router: buildRouter(deployments), virtual_keys: [] };
  const settings = doc['general_settings'];
  const masterKey = isRecord(settings) ? scalarString(settings['master_key'])?.trim() ?? '' : '';
  if (masterKey !== '') doc2['virtual_keys'] = [{ id: LITELLM_MASTER_KEY_ID, token: placeholder(masterKey) }];
  return doc2;
}

/** `litellm_<i>_<name>` with every character other than ASCII alphanumerics replaced by `_`. */
export function litellmBackendName(index: number, modelName: string): string {
  let safe = '';
  for (const ch of modelName) safe += /^[A-Za-z0-9]$/.test(ch) ? ch.toLowerCase() : '_';
  return `litellm_${index}_${safe}`;
}

/**
 * The `authorization` header value for an `api_key`: `os.environ/X` and `os.environ['X']` become a
 * `${X}` placeholder, a literal key is used as is, and no key means `${OPENAI_API_KEY}`.
 */
export function litellmAuthorization(apiKey: string | undefined): string {
  const k = apiKey?.trim() ?? '';
  if (k === '') return 'Bearer ${OPENAI_API_KEY}';
  const env = envReference(k);
  return env === undefined ? `Bearer ${k}` : `Bearer \${${env}}`;
}

/**
 * `os.environ['X']` as a `${X}` placeholder; `os.environ/X` is kept, since env expansion (§2.7)
 * resolves that form itself.
 */
function placeholder(v: string): string {
  if (v.startsWith('os.environ/')) return v;
  const env = envReference(v);
  return env === undefined ? v : `\${${env}}`;
}

/** The variable named by `os.environ/X`, `os.environ['X']` or `os.environ["X"]`, if `v` is one. */
function envReference(v: string): string | undefined {
  if (v.startsWith('os.environ/')) return v.slice('os.environ/'.length).trim();
  const m = /^os\.environ\[\s*(['"])(.*)\1\s*\]$/.exec(v);
  return m ? (m[2] ?? '').trim() : undefined;
}

function convertDeployment(index: number, modelName: string, params: Record<string, unknown>): LitellmBackend {
  const apiBase = scalarString(params['api_base'])?.trim();
  const backend: LitellmBackend = {
    name: litellmBackendName(index, modelName),
    base_url: apiBase ? placeholder(apiBase) : LITELLM_DEFAULT_BASE_URL,
    headers: { authorization: litellmAuthorization(scalarString(params['api_key'])) },
  };
  const apiVersion = scalarString(params['api_version'])?.trim();
  if (apiVersion) backend.query_params = { 'api-version': placeholder(apiVersion) };
  // YAML 1.1 numbers such as `20_000` arrive as strings; such fields are ignored (§2.9).
  const timeout = finiteNumber(params['timeout']) ?? finiteNumber(params['stream_timeout']);
  if (timeout !== undefined && timeout > 0) backend.timeout_seconds = Math.ceil(timeout);
  const model = scalarString(params['model'])?.trim();
  if (model && !model.includes('*') && !modelName.includes('*')) {
    const slash = model.indexOf('/');
    const upstreamModel = slash >= 0 ? model.slice(slash + 1) : model;
    if (upstreamModel !== '' && upstreamModel !== modelName) backend.model_map = { [modelName]: upstreamModel };
  }
  return backend;
}

/**
 * Group deployments by `model_name`: `"*"` is the default; every other group is a rule, exact unless
 * the name has a `*`, sorted exact first and then longest prefix first. Without `"*"` the default is
 * the first backend of the alphabetically first group.
 */
function buildRouter(deployments: readonly Deployment[]): Record<string, unknown> {
  const groups = new Map<string, string[]>();
  for (const d of deployments) {
    const g = groups.get(d.modelName);
    if (g) g.push(d.backend);
    else groups.set(d.modelName, [d.backend]);
  }
  const rules: LitellmRule[] = [];
  let defaults: string[] | undefined;
  for (const [name, members] of groups) {
    if (name === '*') {
      defaults = members;
      continue;
    }
    const rule: LitellmRule = { model_prefix: name, exact: !name.includes('*') };
    if (members.length === 1) rule.backend = members[0] as string;
    else rule.backends = members.map((backend) => ({ backend, weight: 1 }));
    rules.push(rule);
  }
  // Array.prototype.sort is stable, so ties keep the file's order.
  rules.sort((a, b) => Number(b.exact) - Number(a.exact) || b.model_prefix.length - a.model_prefix.length);
  if (defaults === undefined) {
    const first = [...groups.keys()].sort(compareCodeUnits)[0];
    defaults = first === undefined ? [] : [(groups.get(first) as string[])[0] as string];
  }
  return { default_backends: defaults.map((backend) => ({ backend, weight: 1 })), rules };
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Strings as is; numbers and booleans as YAML would print them; anything else is absent. */
function scalarString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'boolean') return String(v);
  return undefined;
}

function finiteNumber(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
