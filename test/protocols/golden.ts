// Golden-file helpers. Tests run from dist/, so fixtures are read from the repo root. Goldens are rewritten only
// when UPDATE_GOLDENS=1 is set (review the diff); otherwise a missing or different golden fails the test.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

export const FIXTURES = fileURLToPath(new URL('../../../test/protocols/fixtures/', import.meta.url));
const UPDATE = process.env['UPDATE_GOLDENS'] === '1';

/** Absolute path of a fixture file. */
export function fixturePath(rel: string): string {
  return FIXTURES + rel;
}

/** A fixture's text. */
export function readFixture(rel: string): string {
  return readFileSync(fixturePath(rel), 'utf8');
}

/** A fixture's bytes. */
export function readFixtureBytes(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(fixturePath(rel)));
}

/** A fixture parsed as JSON. */
export function readJson(rel: string): unknown {
  return JSON.parse(readFixture(rel)) as unknown;
}

/** File names in a fixture folder, sorted. */
export function listFixtures(dir: string): string[] {
  return readdirSync(fixturePath(dir)).sort();
}

/** Compares `actual` (as JSON) with the golden file, or rewrites it under UPDATE_GOLDENS=1. */
export function goldenJson(rel: string, actual: unknown): void {
  const normalized = JSON.parse(JSON.stringify(actual)) as unknown;
  const path = fixturePath(rel);
  if (UPDATE) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${JSON.stringify(normalized, null, 2)}\n`);
    return;
  }
  assert.ok(existsSync(path), `missing golden ${rel} (run with UPDATE_GOLDENS=1 to create it, then review)`);
  assert.deepStrictEqual(normalized, JSON.parse(readFileSync(path, 'utf8')), `golden ${rel} differs`);
}

/** Compares `actual` text with the golden file, or rewrites it under UPDATE_GOLDENS=1. */
export function goldenText(rel: string, actual: string): void {
  const path = fixturePath(rel);
  if (UPDATE) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  assert.ok(existsSync(path), `missing golden ${rel} (run with UPDATE_GOLDENS=1 to create it, then review)`);
  assert.equal(actual, readFileSync(path, 'utf8'), `golden ${rel} differs`);
}

/** Runs `fn`, returning its result or, for an error with a `param`, `{error:{param,message}}` (goldens record rejections). */
export function resultOrRejection<T>(fn: () => T): T | { error: { name: string; param: string; message: string } } {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Error && 'param' in e && typeof e.param === 'string') {
      return { error: { name: e.name, param: e.param, message: e.message } };
    }
    throw e;
  }
}

/** The context every response/stream encoder gets in the goldens (protocols never read the clock). */
export const ENCODE_CTX = { id: 'gw-test-1', model: 'client-model', created: 1700000000 } as const;

/** The protocols, in golden-file order. */
export const PROTOCOL_IDS = ['openai', 'anthropic', 'gemini'] as const;
