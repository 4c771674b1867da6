/** The audit export hash chain and its verifier (CONTRACT §4.13, §6.11, §6.12). */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  canonicalJson, chainHash, chainRecords, CSV_HEADER, csvField, csvRow, jsonlLine, parseCsv, verifyExport,
} from '../../src/admin/chain.js';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

const RECORDS = [
  { id: 12, ts_ms: 1_700_000_003_000, kind: 'proxy', payload: { z: 1, a: { y: [3, { d: 1, c: 2 }], b: 'x' }, tenant_id: 'acme' } },
  { id: 11, ts_ms: 1_700_000_002_000, kind: 'proxy.error', payload: { note: 'a,b "quoted"\nnext line', status: 502 } },
  { id: 10, ts_ms: 1_700_000_001_000, kind: 'admin.reservations.reap', payload: {} },
];

function jsonl(): string {
  return `${chainRecords(RECORDS).map(jsonlLine).join('\n')}\n`;
}

function csv(): string {
  return `${[CSV_HEADER, ...chainRecords(RECORDS).map(csvRow)].join('\n')}\n`;
}

test('canonical JSON is compact with object keys sorted at every depth; arrays keep their order', () => {
  assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: 1 }, 'x'], c: { f: null, e: true } }), '{"a":[{"c":1,"d":2},"x"],"b":1,"c":{"e":true,"f":null}}');
});

test('hash = sha256_hex((prev_hash ?? "") + "\\n" + compact_json({id,ts_ms,kind,payload})), top-level keys in that order', () => {
  const r = RECORDS[0]!;
  const body = '{"id":12,"ts_ms":1700000003000,"kind":"proxy","payload":{"a":{"b":"x","y":[3,{"c":2,"d":1}]},"tenant_id":"acme","z":1}}';
  assert.equal(chainHash(undefined, r), sha(`\n${body}`));
  assert.equal(chainHash('abc', r), sha(`abc\n${body}`));
});

test('chained lines: no prev_hash on the first, each prev_hash is the line before\'s hash, key order fixed', () => {
  const lines = jsonl().trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 3);
  assert.deepEqual(Object.keys(lines[0]!), ['id', 'ts_ms', 'kind', 'payload', 'hash']);
  assert.deepEqual(Object.keys(lines[1]!), ['id', 'ts_ms', 'kind', 'payload', 'prev_hash', 'hash']);
  assert.equal(lines[1]!['prev_hash'], lines[0]!['hash']);
  assert.equal(lines[2]!['prev_hash'], lines[1]!['hash']);
  for (const [i, l] of lines.entries()) {
    const prev = l['prev_hash'] as string | undefined;
    const r = RECORDS[i]!;
    assert.equal(l['hash'], sha(`${prev ?? ''}\n{"id":${r.id},"ts_ms":${r.ts_ms},"kind":${JSON.stringify(r.kind)},"payload":${canonicalJson(r.payload)}}`));
  }
});

test('CSV quoting: commas, quotes and newlines survive a parse; plain fields stay bare', () => {
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('l1\nl2'), '"l1\nl2"');
  const rows = parseCsv(csv());
  assert.deepEqual(rows[0], CSV_HEADER.split(','));
  assert.equal(rows.length, 4);
  assert.deepEqual(JSON.parse(rows[2]![3]!), RECORDS[1]!.payload);
  assert.equal(rows[1]![4], '', 'no prev_hash on the first row');
  assert.deepEqual(parseCsv('a,"b\r\nc",d\r\n1,2,3\r\n'), [['a', 'b\r\nc', 'd'], ['1', '2', '3']]);
});

test('an intact JSONL or CSV export verifies; an empty one is 0 records', () => {
  assert.deepEqual(verifyExport(jsonl()), { ok: true, records: 3 });
  assert.deepEqual(verifyExport(csv()), { ok: true, records: 3 });
  assert.deepEqual(verifyExport(''), { ok: true, records: 0 });
  assert.deepEqual(verifyExport(`${CSV_HEADER}\n`), { ok: true, records: 0 });
});

test('JSONL tampering is found at the first broken record: modified payload, removed, reordered, removed head', () => {
  const lines = jsonl().trimEnd().split('\n');
  const modified = [...lines];
  modified[1] = modified[1]!.replace('"status":502', '"status":200');
  assert.deepEqual(verifyExport(modified.join('\n')), { ok: false, line: 2, unit: 'line', id: 11, reason: 'hash mismatch: the record was modified' });

  const removed = [lines[0], lines[2]].join('\n');
  const r1 = verifyExport(removed);
  assert.equal(r1.ok, false);
  assert.ok(!r1.ok && r1.line === 2 && r1.id === 10 && /prev_hash does not match/.test(r1.reason));

  const reordered = [lines[1], lines[0], lines[2]].join('\n');
  const r2 = verifyExport(reordered);
  assert.ok(!r2.ok && r2.line === 1 && r2.id === 11 && /first record has a prev_hash/.test(r2.reason));

  const swappedTail = [lines[0], lines[2], lines[1]].join('\n');
  const r3 = verifyExport(swappedTail);
  assert.ok(!r3.ok && r3.line === 2 && r3.id === 10);

  const headless = lines.slice(1).join('\n');
  const r4 = verifyExport(headless);
  assert.ok(!r4.ok && r4.line === 1 && r4.id === 11);

  const gap = [lines[0], '', lines[1], lines[2]].join('\n');
  const r5 = verifyExport(gap);
  assert.ok(!r5.ok && r5.line === 2 && /empty line/.test(r5.reason));

  const garbage = [lines[0], '{not json'].join('\n');
  const r6 = verifyExport(garbage);
  assert.ok(!r6.ok && r6.line === 2 && /not valid JSON/.test(r6.reason));
});

test('CSV tampering is found: a payload cell edited, a row removed', () => {
  const rows = csv().trimEnd().split('\n');
  // Row 2 (record 12) is one physical line; edit its payload inside the quoted cell.
  const edited = [...rows];
  edited[1] = edited[1]!.replace('""acme""', '""evil""');
  assert.notEqual(edited[1], rows[1]);
  const r1 = verifyExport(edited.join('\n'));
  assert.ok(!r1.ok && r1.unit === 'row' && r1.line === 2 && r1.id === 12 && /hash mismatch/.test(r1.reason));
  // Record 11's payload spans two physical lines (embedded newline): drop record 11 entirely.
  const text = csv();
  const start = text.indexOf('\n11,') + 1;
  const end = text.indexOf('\n10,') + 1;
  const r2 = verifyExport(text.slice(0, start) + text.slice(end));
  assert.ok(!r2.ok && r2.line === 3 && r2.id === 10 && /prev_hash does not match/.test(r2.reason));
});
