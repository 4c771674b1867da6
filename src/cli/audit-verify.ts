import { readFileSync } from 'node:fs';
import { verifyExport } from '../admin/chain.js';

/**
 * `ditto-gateway audit-verify FILE` (CONTRACT §4.13): recompute the hash chain of an audit export
 * (JSONL or CSV) and print `audit chain ok: N records` (exit 0) or the first broken record (exit 1).
 * Catches a modified record, a removed, inserted or reordered line, and a removed head; records cut
 * from the end cannot be told from a shorter export, so keep the newest `hash` elsewhere to anchor it.
 */
export function auditVerifyMain(args: readonly string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): number {
  if (args.length !== 1 || (args[0] as string).startsWith('-')) {
    err.write('usage: ditto-gateway audit-verify FILE\n');
    return 2;
  }
  const file = args[0] as string;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    err.write(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
    return 1;
  }
  const r = verifyExport(text);
  if (r.ok) {
    out.write(`audit chain ok: ${r.records} records\n`);
    return 0;
  }
  const rec = r.id === undefined ? '' : ` (record id ${r.id})`;
  err.write(`audit chain broken at ${r.unit} ${r.line}${rec}: ${r.reason}\n`);
  return 1;
}
