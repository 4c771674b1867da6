import { readFileSync } from 'node:fs';

/**
 * Env and secret expansion (CONTRACT §2.7). Lookup order: dotenv values first, then the process
 * environment; a blank process value counts as missing. Resolved values are never logged.
 */
export type EnvLookup = (name: string) => string | undefined;

/** An expansion failure; its message is the contract's fatal message. */
export class ExpandError extends Error {}

/** Parse dotenv text: skips blank and `#` lines, strips `export `, splits at the first `=`, trims, unquotes. */
export function parseDotenv(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const rawLine of text.split(/\r?\n/)) {
    let line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('export ')) line = line.slice(7).trim();
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const name = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2) {
      const q = value[0];
      if ((q === '"' || q === "'") && value[value.length - 1] === q) value = value.slice(1, -1);
    }
    if (name === '' || value === '') continue;
    out.set(name, value);
  }
  return out;
}

/** Build the lookup: dotenv first, then `env` (blank = missing). */
export function makeEnvLookup(env: NodeJS.ProcessEnv, dotenv: Map<string, string> = new Map()): EnvLookup {
  return (name) => {
    const d = dotenv.get(name);
    if (d !== undefined) return d;
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v;
  };
}

function requireVar(name: string, lookup: EnvLookup): string {
  const v = lookup(name);
  if (v === undefined) throw new ExpandError(`missing env var: ${name}`);
  if (v.trim() === '') throw new ExpandError(`env var is empty: ${name}`);
  return v;
}

/** Expand `${VAR}` anywhere in `s`. */
function expandBraces(s: string, lookup: EnvLookup): string {
  if (!s.includes('${')) return s;
  let out = '';
  let i = 0;
  while (i < s.length) {
    const start = s.indexOf('${', i);
    if (start < 0) { out += s.slice(i); break; }
    out += s.slice(i, start);
    const end = s.indexOf('}', start + 2);
    if (end < 0) throw new ExpandError('unterminated env placeholder');
    const name = s.slice(start + 2, end).trim();
    if (name === '') throw new ExpandError('empty env placeholder');
    out += requireVar(name, lookup);
    i = end + 1;
  }
  return out;
}

/**
 * Expand one config string: `os.environ/VAR` (whole trimmed string), `secret://env/VAR`,
 * `secret://file?path=/abs` (trailing newline trimmed), else `${VAR}` placeholders.
 * `field` names the config path in `failed to resolve secret for <field>` messages.
 */
export function expandValue(value: string, field: string, lookup: EnvLookup): string {
  const t = value.trim();
  if (t.startsWith('os.environ/')) return requireVar(t.slice('os.environ/'.length).trim(), lookup);
  if (t.startsWith('secret://')) return resolveSecret(t, field, lookup);
  return expandBraces(value, lookup);
}

function resolveSecret(ref: string, field: string, lookup: EnvLookup): string {
  const rest = ref.slice('secret://'.length);
  if (rest.startsWith('env/')) {
    const name = rest.slice(4);
    if (name === '') throw new ExpandError(`failed to resolve secret for ${field}: empty env var name`);
    return requireVar(name, lookup);
  }
  if (rest.startsWith('file')) {
    const q = rest.indexOf('?');
    const params = new URLSearchParams(q >= 0 ? rest.slice(q + 1) : '');
    const path = params.get('path');
    if (!path) throw new ExpandError(`failed to resolve secret for ${field}: secret://file needs ?path=/absolute/path`);
    if (!path.startsWith('/')) throw new ExpandError(`failed to resolve secret for ${field}: path must be absolute`);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ExpandError(`failed to resolve secret for ${field}: ${(err as NodeJS.ErrnoException).code ?? 'read error'} reading ${path}`);
    }
    const v = text.replace(/\r?\n$/, '');
    if (v.trim() === '') throw new ExpandError(`failed to resolve secret for ${field}: file is empty: ${path}`);
    return v;
  }
  const provider = rest.split(/[/?]/, 1)[0] ?? '';
  throw new ExpandError(`failed to resolve secret for ${field}: unsupported secret provider "${provider}" (supported: env, file)`);
}
