import { createHash } from 'node:crypto';
import { z } from 'zod';
import { RouterSchema, VirtualKeySchema, type RouterConfig, type VirtualKeyConfig } from '../config/schema.js';
import type { AuditInput, AuditRecord } from './store.js';
import { checkAmount, checkId } from './admission.js';
import { StoreSchemaError, type StoreName } from './errors.js';

/** Conversions between in-process values and what stores persist (keys, router, audit rows). */

const SHA256_TOKEN = /^sha256:[0-9a-fA-F]{64}$/;

/**
 * The persisted form of a token (CONTRACT §4.15): `sha256:<hex sha256(trimmed token)>`; a token that is
 * already a `sha256:` digest is kept (lower-cased). Same digest as auth uses to match presented tokens.
 */
export function persistedToken(token: string): string {
  const t = token.trim();
  if (SHA256_TOKEN.test(t)) return `sha256:${t.slice(7).toLowerCase()}`;
  return `sha256:${createHash('sha256').update(t, 'utf8').digest('hex')}`;
}

/** A key ready to persist: a copy with its token hashed. */
export function toPersistedKey(key: VirtualKeyConfig): VirtualKeyConfig {
  checkId('virtual key id', key.id);
  return { ...key, token: persistedToken(key.token) };
}

/** Parse a persisted key (unknown JSON) back into a config value. */
export function parsePersistedKey(store: StoreName, raw: string): VirtualKeyConfig {
  const parsed = VirtualKeySchema.safeParse(parseJson(store, raw, 'virtual key'));
  if (!parsed.success) throw new StoreSchemaError(store, `stored virtual key does not parse: ${parsed.error.message}`);
  return parsed.data;
}

/** Parse a persisted router (unknown JSON). */
export function parsePersistedRouter(store: StoreName, raw: string): RouterConfig {
  const parsed = RouterSchema.safeParse(parseJson(store, raw, 'router'));
  if (!parsed.success) throw new StoreSchemaError(store, `stored router does not parse: ${parsed.error.message}`);
  return parsed.data;
}

/** Keys sorted by id, the order every store returns. */
export function sortKeys(keys: VirtualKeyConfig[]): VirtualKeyConfig[] {
  return keys.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Reject duplicate ids before a bulk save. */
export function checkUniqueIds(keys: readonly VirtualKeyConfig[]): void {
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k.id)) throw new TypeError(`duplicate virtual key id: ${k.id}`);
    seen.add(k.id);
  }
}

/** Validate an audit record before it is written. */
export function checkAuditInput(r: AuditInput): void {
  checkId('audit kind', r.kind);
  if (typeof r.payload !== 'object' || r.payload === null || Array.isArray(r.payload)) {
    throw new TypeError('audit payload must be an object');
  }
  if (r.tsMs !== undefined) checkAmount('audit tsMs', r.tsMs);
}

const PayloadSchema = z.record(z.string(), z.unknown());

/** Rebuild an audit record from stored columns. */
export function auditRecord(store: StoreName, id: number, tsMs: number, kind: string, payload: string): AuditRecord {
  return auditRecordOf(store, id, tsMs, kind, parseJson(store, payload, 'audit payload'));
}

/** Rebuild an audit record from an already decoded payload. */
export function auditRecordOf(store: StoreName, id: number, tsMs: number, kind: string, payload: unknown): AuditRecord {
  const parsed = PayloadSchema.safeParse(payload);
  if (!parsed.success) throw new StoreSchemaError(store, `audit record ${id} payload is not an object`);
  return { id, tsMs, kind, payload: parsed.data };
}

/** JSON.parse that reports a schema problem instead of a SyntaxError. */
export function parseJson(store: StoreName, raw: string, what: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new StoreSchemaError(store, `stored ${what} is not JSON`, { cause: err });
  }
}
