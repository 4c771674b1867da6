/**
 * Deterministic sampling (CONTRACT §4.14): the same id is always in or always out, in every replica,
 * so a sampled request has all of its log lines (or devtools lines) and an unsampled one has none.
 * The hash is FNV-1a 32 over a per-stream salt and the id: salted so that log sampling is not
 * correlated with weighted backend selection, which hashes the request id too (§4.4).
 */
export function sampled(id: string, rate: number, salt: string): boolean {
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  let h = 0x811c9dc5;
  for (let i = 0; i < salt.length; i++) {
    h ^= salt.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    h ^= c & 0xff;
    h = Math.imul(h, 0x01000193);
    if (c > 0xff) {
      h ^= c >>> 8;
      h = Math.imul(h, 0x01000193);
    }
  }
  // Final avalanche so that ids differing only in their last characters spread over [0, 1).
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return (h >>> 0) / 0x100000000 < rate;
}

/** The id a log payload is sampled by: the first of `request_id`, `trace_id`, `response_id`, `session_id`, `id`. */
export function samplingId(payload: Readonly<Record<string, unknown>>): string | undefined {
  for (const k of ['request_id', 'trace_id', 'response_id', 'session_id', 'id']) {
    const v = payload[k];
    if (typeof v === 'string' && v !== '') return v;
  }
  return undefined;
}
