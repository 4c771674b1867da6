import { z } from 'zod';
import { SENTENCE } from './issues.js';
import { compileConfigRegex } from './regex.js';

/** The `observability` section (CONTRACT §2.6): redaction rules and sampling rates, with defaults. */

/** An absent or null section takes its defaults, as if written `{}`. */
export function withDefaults<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => v ?? {}, schema);
}

const list = (values: readonly string[]) => z.array(z.string()).nullish().transform((v) => v ?? [...values]);

/** A sampling rate: finite, in [0, 1] (default 1.0). Checked here so YAML's `.nan`/`.inf` get the same message. */
const rate = z.unknown().optional().transform((v, ctx) => {
  if (v === undefined || v === null) return 1;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) {
    ctx.addIssue({ code: 'custom', message: 'must be a finite value between 0.0 and 1.0', params: SENTENCE });
    return z.NEVER;
  }
  return v;
});

export const RedactionSchema = z.object({
  replacement: z.string().nullish().transform((v) => v ?? '<redacted>'),
  redact_headers: list(['authorization', 'proxy-authorization', 'x-api-key', 'x-litellm-api-key', 'x-admin-token', 'x-ditto-virtual-key']),
  redact_key_names: list(['virtual_key', 'api_key', 'apikey', 'token', 'access_token', 'refresh_token', 'client_secret', 'secret', 'password', 'session_token']),
  redact_query_params: list(['api_key', 'api-key', 'key', 'token', 'access_token', 'refresh_token', 'authorization']),
  sanitize_query_in_keys: list(['path', 'url', 'base_url', 'endpoint']),
  redact_json_pointers: list([]),
  redact_regexes: list(['(?i)bearer\\s+[^\\s]+', 'sk-[A-Za-z0-9]{10,}']),
});

export const SamplingSchema = z.object({
  json_logs_rate: rate,
  audit_rate: rate,
  devtools_rate: rate,
});

export const ObservabilitySchema = z.object({
  redaction: withDefaults(RedactionSchema),
  sampling: withDefaults(SamplingSchema),
});

export type ObservabilityConfig = z.infer<typeof ObservabilitySchema>;
export type RedactionConfig = z.infer<typeof RedactionSchema>;

/** Startup checks the schema cannot express (§2.6): non-empty replacement, compilable regexes, valid pointers. */
export function validateObservability(o: ObservabilityConfig): string[] {
  const errors: string[] = [];
  const at = 'observability.redaction';
  if (o.redaction.replacement === '') errors.push(`${at}.replacement cannot be empty`);
  o.redaction.redact_regexes.forEach((p, i) => {
    try {
      compileConfigRegex(p);
    } catch (err) {
      errors.push(`${at}.redact_regexes[${i}]: ${(err as Error).message}`);
    }
  });
  o.redaction.redact_json_pointers.forEach((p, i) => {
    const problem = jsonPointerProblem(p);
    if (problem) errors.push(`${at}.redact_json_pointers[${i}]: ${problem}`);
  });
  return errors;
}

/** Why `p` is not an RFC 6901 JSON pointer, or undefined when it is one. */
export function jsonPointerProblem(p: string): string | undefined {
  if (p !== '' && !p.startsWith('/')) return 'a JSON pointer must be empty or start with "/"';
  if (/~(?![01])/.test(p)) return 'a JSON pointer may use "~" only as "~0" or "~1"';
  return undefined;
}
