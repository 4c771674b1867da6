import { createHash } from 'node:crypto';

/**
 * The audit export hash chain (CONTRACT §4.13, §6.11, §6.12): pure functions shared by
 * `GET /admin/audit/export` and `ditto-gateway audit-verify`.
 *
 * `hash = sha256_hex((prev_hash ?? "") + "\n" + compact_json({id, ts_ms, kind, payload}))`, top-level keys in
 * that order, nested object keys sorted. Records are emitted newest first and each line's `prev_hash` is the
 * hash of the line before it; the first line has none.
 */

/** One exported audit record, as it appears on a JSONL line. */
export interface ChainRecord {
  id: number;
  ts_ms: number;
  kind: string;
  payload: Record<string, unknown>;
  prev_hash?: string;
  hash: string;
}

/** Compact JSON with object keys sorted at every depth (arrays keep their order). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

/** The hash of one record given the previous line's hash (undefined on the first line). */
export function chainHash(prevHash: string | undefined, r: { id: number; ts_ms: number; kind: string; payload: Record<string, unknown> }): string {
  // Top-level order is fixed by the contract; the payload's nested keys are sorted.
  const body = `{"id":${JSON.stringify(r.id)},"ts_ms":${JSON.stringify(r.ts_ms)},"kind":${JSON.stringify(r.kind)},"payload":${canonicalJson(r.payload)}}`;
  return createHash('sha256').update(`${prevHash ?? ''}\n${body}`).digest('hex');
}

/** Chain records given newest first: adds `prev_hash` (except on the first) and `hash`. */
export function chainRecords(records: Iterable<{ id: number; ts_ms: number; kind: string; payload: Record<string, unknown> }>): ChainRecord[] {
  const out: ChainRecord[] = [];
  let prev: string | undefined;
  for (const r of records) {
    const hash = chainHash(prev, r);
    out.push(prev === undefined
      ? { id: r.id, ts_ms: r.ts_ms, kind: r.kind, payload: r.payload, hash }
      : { id: r.id, ts_ms: r.ts_ms, kind: r.kind, payload: r.payload, prev_hash: prev, hash });
    prev = hash;
  }
  return out;
}

/** One JSONL line (no trailing newline): `{"id","ts_ms","kind","payload","prev_hash"?,"hash"}`. */
export function jsonlLine(r: ChainRecord): string {
  const prev = r.prev_hash === undefined ? '' : `,"prev_hash":${JSON.stringify(r.prev_hash)}`;
  return `{"id":${r.id},"ts_ms":${r.ts_ms},"kind":${JSON.stringify(r.kind)},"payload":${canonicalJson(r.payload)}${prev},"hash":${JSON.stringify(r.hash)}}`;
}

export const CSV_HEADER = 'id,ts_ms,kind,payload_json,prev_hash,hash';

/** Quote a CSV field when it holds a comma, quote, CR or LF (RFC 4180: quotes doubled). */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** One CSV row (no line ending). `payload_json` is the canonical JSON that the hash covers. */
export function csvRow(r: ChainRecord): string {
  return [String(r.id), String(r.ts_ms), csvField(r.kind), csvField(canonicalJson(r.payload)), r.prev_hash ?? '', r.hash].join(',');
}

/** Parse RFC 4180 CSV text into rows of fields (CRLF or LF line ends; quoted fields may span lines). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const endField = (): void => { row.push(field); field = ''; };
  const endRow = (): void => { endField(); rows.push(row); row = []; };
  while (i < text.length) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
        quoted = false;
      } else {
        field += c;
      }
      i++;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') endField();
    else if (c === '\n') endRow();
    else if (c === '\r' && text[i + 1] === '\n') { endRow(); i++; }
    else field += c;
    i++;
  }
  if (quoted) throw new SyntaxError('unterminated quoted field');
  if (field !== '' || row.length > 0) endRow();
  return rows;
}

/** A chain check result: ok with the record count, or the first broken record. */
export type VerifyResult =
  | { ok: true; records: number }
  | { ok: false; line: number; unit: 'line' | 'row'; id: number | undefined; reason: string };

/** A record read back from an export, with the 1-based line (JSONL) or row (CSV, header = 1) it came from. */
interface ParsedRecord {
  line: number;
  record: { id: number; ts_ms: number; kind: string; payload: Record<string, unknown> };
  prevHash: string | undefined;
  hash: string;
}

type Parsed = ParsedRecord | { line: number; id: number | undefined; error: string };

/** Verify an exported chain (JSONL or CSV, told apart by the CSV header line). */
export function verifyExport(text: string): VerifyResult {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const firstLine = body.split(/\r?\n/, 1)[0] ?? '';
  const csv = firstLine === CSV_HEADER;
  return verifyParsed(csv ? parseCsvExport(body) : parseJsonlExport(body), csv ? 'row' : 'line');
}

function verifyParsed(items: Iterable<Parsed>, unit: 'line' | 'row'): VerifyResult {
  let prev: string | undefined;
  let n = 0;
  for (const item of items) {
    if ('error' in item) return { ok: false, line: item.line, unit, id: item.id, reason: item.error };
    const { line, record } = item;
    const fail = (reason: string): VerifyResult => ({ ok: false, line, unit, id: record.id, reason });
    if (prev === undefined && item.prevHash !== undefined) {
      return fail('first record has a prev_hash: records before it were removed');
    }
    if (prev !== undefined && item.prevHash !== prev) {
      return fail(item.prevHash === undefined
        ? 'prev_hash missing: the chain was cut here'
        : 'prev_hash does not match the previous record: a record was removed, inserted or reordered');
    }
    if (chainHash(prev, record) !== item.hash) return fail('hash mismatch: the record was modified');
    prev = item.hash;
    n++;
  }
  return { ok: true, records: n };
}

function* parseJsonlExport(text: string): Generator<Parsed> {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] as string).replace(/\r$/, '');
    if (raw.trim() === '') {
      // Only a trailing newline may leave an empty line; one in the middle is a removed record's gap.
      if (lines.slice(i + 1).every((l) => l.trim() === '')) return;
      yield { line: i + 1, id: undefined, error: 'empty line inside the chain' };
      return;
    }
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      yield { line: i + 1, id: undefined, error: 'line is not valid JSON' };
      return;
    }
    yield fromFields(i + 1, v);
  }
}

function* parseCsvExport(text: string): Generator<Parsed> {
  let rows: string[][];
  try {
    rows = parseCsv(text);
  } catch (err) {
    yield { line: 0, id: undefined, error: `CSV does not parse: ${(err as Error).message}` };
    return;
  }
  for (let i = 1; i < rows.length; i++) {
    const row = rows[i] as string[];
    if (row.length === 1 && row[0] === '') continue;
    if (row.length !== 6) {
      yield { line: i + 1, id: undefined, error: `row has ${row.length} fields, expected 6` };
      return;
    }
    const [id, ts, kind, payloadJson, prevHash, hash] = row as [string, string, string, string, string, string];
    if (!/^\d+$/.test(id) || !/^-?\d+$/.test(ts)) {
      yield { line: i + 1, id: undefined, error: 'id and ts_ms must be integers' };
      return;
    }
    let payload: unknown;
    try {
      payload = JSON.parse(payloadJson);
    } catch {
      yield { line: i + 1, id: Number(id), error: 'payload_json is not valid JSON' };
      return;
    }
    const fields: Record<string, unknown> = { id: Number(id), ts_ms: Number(ts), kind, payload, hash };
    if (prevHash !== '') fields['prev_hash'] = prevHash;
    yield fromFields(i + 1, fields);
  }
}

function fromFields(line: number, v: unknown): Parsed {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { line, id: undefined, error: 'record is not a JSON object' };
  const o = v as Record<string, unknown>;
  const id = typeof o['id'] === 'number' && Number.isSafeInteger(o['id']) ? o['id'] : undefined;
  const ts = o['ts_ms'];
  const payload = o['payload'];
  const prev = o['prev_hash'];
  const hash = o['hash'];
  if (id === undefined || typeof ts !== 'number' || !Number.isSafeInteger(ts) || typeof o['kind'] !== 'string'
    || payload === null || typeof payload !== 'object' || Array.isArray(payload)
    || (prev !== undefined && typeof prev !== 'string') || typeof hash !== 'string') {
    return { line, id, error: 'record lacks id, ts_ms, kind, payload or hash' };
  }
  return {
    line,
    record: { id, ts_ms: ts, kind: o['kind'], payload: payload as Record<string, unknown> },
    prevHash: prev as string | undefined,
    hash,
  };
}
