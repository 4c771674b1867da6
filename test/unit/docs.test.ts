import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CATALOG } from '../../src/errors/catalog.js';
import { FLAGS, usage } from '../../src/cli/args.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

function section(title: string): string {
  const start = readme.indexOf(`\n## ${title}`);
  assert.ok(start >= 0, `README has a "## ${title}" section`);
  const end = readme.indexOf('\n## ', start + 4);
  return readme.slice(start, end < 0 ? undefined : end);
}

test('every error code in the catalog is documented in the README errors table, with its status', () => {
  const errors = section('Errors');
  for (const [code, { status, type }] of Object.entries(ERROR_CATALOG)) {
    const row = errors.split('\n').find((l) => l.includes(`| \`${code}\` |`));
    assert.ok(row, `README Errors table lists ${code}`);
    assert.ok(row.startsWith(`| ${status} |`), `${code} is documented with status ${status}: ${row}`);
    assert.ok(row.includes(`| ${type} |`), `${code} is documented with type ${type}`);
  }
  for (const m of errors.matchAll(/^\| \d{3} \| `([a-z_]+)` \|/gm)) {
    assert.ok((m[1] as string) in ERROR_CATALOG, `README documents ${m[1]}, which is not in the catalog`);
  }
});

test('the README CLI reference shows exactly the --help flag lines', () => {
  const cli = section('CLI reference');
  const helpLines = usage().split('\n').filter((l) => l.startsWith('  --') || l.startsWith('                    '));
  for (const line of helpLines) assert.ok(cli.includes(line), `README CLI reference contains: ${line.trim()}`);
  for (const f of FLAGS) for (const n of f.names) assert.ok(cli.includes(n), `README mentions ${n}`);
});
