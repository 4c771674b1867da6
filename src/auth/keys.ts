import { hash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { VirtualKeyConfig } from '../config/schema.js';
import { tokenDigestHex } from '../config/validate.js';

/** A virtual key as the pipeline sees it: config plus its token digest. The plaintext is not kept here. */
export interface VirtualKey {
  readonly id: string;
  readonly enabled: boolean;
  readonly config: VirtualKeyConfig;
  readonly digest: Buffer;
}

/** Why authentication failed; each maps to the contract's 401 message (§4.1). */
export type AuthFailure = 'missing' | 'unauthorized' | 'disabled';

export const AUTH_MESSAGES: Record<AuthFailure, string> = {
  missing: 'missing virtual key',
  unauthorized: 'unauthorized virtual key',
  disabled: 'virtual key disabled',
};

/**
 * Looks keys up by the SHA-256 of the presented token and confirms with a constant-time compare,
 * so neither the lookup nor the compare depends on how much of a guess was right.
 */
export class KeyIndex {
  readonly #byDigest = new Map<string, VirtualKey>();

  constructor(keys: readonly VirtualKeyConfig[]) {
    for (const config of keys) {
      const hex = tokenDigestHex(config.token);
      this.#byDigest.set(hex, { id: config.id, enabled: config.enabled, config, digest: Buffer.from(hex, 'hex') });
    }
  }

  /** Number of configured keys. */
  get size(): number {
    return this.#byDigest.size;
  }

  /** Authenticate a presented token. */
  verify(token: string | undefined): VirtualKey | AuthFailure {
    if (token === undefined) return 'missing';
    // One-shot hash: no Hash object per request (about a third cheaper than createHash here).
    const digest = hash('sha256', token, 'buffer');
    const key = this.#byDigest.get(digest.toString('hex'));
    if (!key || !timingSafeEqual(digest, key.digest)) return 'unauthorized';
    return key.enabled ? key : 'disabled';
  }
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined) return undefined;
  const t = s.trim();
  return t === '' ? undefined : t;
}

function stripBearer(v: string, required: boolean): string | undefined {
  // The value is already trimmed, so `Bearer ` with nothing after it arrives as a bare `Bearer`.
  if (v === 'Bearer' || v === 'bearer') return undefined;
  if (v.startsWith('Bearer ') || v.startsWith('bearer ')) {
    const t = v.slice(7).trim();
    return t === '' ? undefined : t;
  }
  return required ? undefined : v;
}

/**
 * The presented virtual key, by the contract's precedence (§4.1): `x-litellm-api-key` (optional
 * `Bearer `) → `Authorization: Bearer` → `x-ditto-virtual-key` → `x-api-key`. Empty counts as absent.
 */
export function presentedToken(headers: IncomingHttpHeaders): string | undefined {
  const litellm = header(headers, 'x-litellm-api-key');
  if (litellm !== undefined) {
    const t = stripBearer(litellm, false);
    if (t !== undefined) return t;
  }
  const auth = header(headers, 'authorization');
  if (auth !== undefined) {
    const t = stripBearer(auth, true);
    if (t !== undefined) return t;
  }
  return header(headers, 'x-ditto-virtual-key') ?? header(headers, 'x-api-key');
}
