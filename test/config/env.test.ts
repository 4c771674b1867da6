import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExpandError, expandValue, makeEnvLookup, parseDotenv } from '../../src/config/env.js';

test('parseDotenv: comments, blanks, export, first =, trimming, one pair of quotes, empty values skipped', () => {
  const text = [
    '# a comment',
    '',
    '   ',
    'PLAIN=value',
    'export EXPORTED = spaced value  ',
    'URL=http://h/p?a=b=c',
    'DQ="double quoted"',
    "SQ='single quoted'",
    'MIXED="not closed\'',
    'NESTED=""inner""',
    'EMPTY=',
    'EMPTY_QUOTED=""',
    'BLANK_QUOTED="  "',
    'NOEQ',
    '=novalue',
    '  # indented comment',
    'CRLF=yes\r',
  ].join('\n');
  // `EMPTY=` is skipped; `""` unquotes to an empty value, which is skipped too.
  assert.deepEqual(Object.fromEntries(parseDotenv(text)), {
    PLAIN: 'value',
    EXPORTED: 'spaced value',
    URL: 'http://h/p?a=b=c',
    DQ: 'double quoted',
    SQ: 'single quoted',
    MIXED: '"not closed\'',
    NESTED: '"inner"',
    BLANK_QUOTED: '  ',
    CRLF: 'yes',
  });
});

test('makeEnvLookup: dotenv first, then process env; a blank process value is missing', () => {
  const lookup = makeEnvLookup({ A: 'from-env', B: 'env-b', BLANK: '   ', EMPTY: '' }, new Map([['A', 'from-dotenv']]));
  assert.equal(lookup('A'), 'from-dotenv');
  assert.equal(lookup('B'), 'env-b');
  assert.equal(lookup('BLANK'), undefined);
  assert.equal(lookup('EMPTY'), undefined);
  assert.equal(lookup('NOPE'), undefined);
});

const lookup = makeEnvLookup({ HOST: 'api.example', KEY: 'sk-1', SPACE: 'a b' }, new Map([['BLANKDOT', '  ']]));

function expandError(value: string, field = 'f'): string {
  try {
    expandValue(value, field, lookup);
  } catch (err) {
    assert.ok(err instanceof ExpandError, String(err));
    return err.message;
  }
  assert.fail(`expected ${JSON.stringify(value)} to fail`);
}

test('expandValue: ${VAR} anywhere, several per string, untouched without placeholders', () => {
  assert.equal(expandValue('https://${HOST}/v1', 'f', lookup), 'https://api.example/v1');
  assert.equal(expandValue('Bearer ${KEY}', 'f', lookup), 'Bearer sk-1');
  assert.equal(expandValue('${HOST}:${KEY}-${ SPACE }', 'f', lookup), 'api.example:sk-1-a b');
  assert.equal(expandValue('no placeholders $HOST {KEY}', 'f', lookup), 'no placeholders $HOST {KEY}');
});

test('expandValue: os.environ/VAR only as the whole trimmed string', () => {
  assert.equal(expandValue('os.environ/KEY', 'f', lookup), 'sk-1');
  assert.equal(expandValue('  os.environ/KEY  ', 'f', lookup), 'sk-1');
  assert.equal(expandValue('Bearer os.environ/KEY', 'f', lookup), 'Bearer os.environ/KEY');
});

test('expandValue: the contract fatal messages', () => {
  assert.equal(expandError('${NOPE}'), 'missing env var: NOPE');
  assert.equal(expandError('os.environ/NOPE'), 'missing env var: NOPE');
  assert.equal(expandError('x ${BLANKDOT} y'), 'env var is empty: BLANKDOT');
  assert.equal(expandError('abc ${KEY'), 'unterminated env placeholder');
  assert.equal(expandError('abc ${}'), 'empty env placeholder');
  assert.equal(expandError('abc ${  }'), 'empty env placeholder');
});

test('expandValue: secret://env and secret://file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ditto-secret-'));
  try {
    const file = join(dir, 'token');
    writeFileSync(file, 'file-secret\n');
    const blank = join(dir, 'blank');
    writeFileSync(blank, '\n');
    assert.equal(expandValue('secret://env/KEY', 'f', lookup), 'sk-1');
    assert.equal(expandValue(`secret://file?path=${file}`, 'f', lookup), 'file-secret');
    assert.equal(expandError('secret://env/NOPE'), 'missing env var: NOPE');
    assert.match(expandError(`secret://file?path=${join(dir, 'missing')}`, 'backends[0].base_url'),
      /^failed to resolve secret for backends\[0\]\.base_url: ENOENT/);
    assert.match(expandError('secret://file?path=relative/path', 'virtual_keys[1].token'),
      /^failed to resolve secret for virtual_keys\[1\]\.token: path must be absolute/);
    assert.match(expandError('secret://file', 'x'), /^failed to resolve secret for x: secret:\/\/file needs \?path=/);
    assert.match(expandError(`secret://file?path=${blank}`, 'x'), /^failed to resolve secret for x: file is empty/);
    assert.match(expandError('secret://vault/kv/data/x', 'x'), /^failed to resolve secret for x: unsupported secret provider "vault"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
