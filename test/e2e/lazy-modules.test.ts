import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Memory (issue 2's ≤ 100 MiB target): a gateway loads the store, metrics and YAML libraries only
// when its flags or config ask for them. ioredis alone is ~20 MiB resident. The real CLI runs with
// a module hook that records every package it resolves.

const BIN = fileURLToPath(new URL('../../../bin/ditto-gateway.js', import.meta.url));
const OPTIONAL = ['ioredis', 'better-sqlite3', 'yaml', 'prom-client'];

/** Start the CLI until it listens, stop it, and return the npm packages it loaded. */
async function packagesLoaded(dir: string, name: string, args: string[]): Promise<Set<string>> {
  const log = join(dir, `${name}.modules`);
  writeFileSync(log, '');
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(hooks, `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  const m = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(r.url);
  if (m) appendFileSync(${JSON.stringify(log)}, m[1] + '\\n');
  return r;
}
`);
  const register = join(dir, 'register.mjs');
  // ESM resolutions go through the hook; require() (the yaml parser is required synchronously) through _resolveFilename.
  writeFileSync(register, `import Module, { register } from 'node:module';
import { appendFileSync } from 'node:fs';
register(${JSON.stringify(pathToFileURL(hooks).href)});
const original = Module._resolveFilename;
Module._resolveFilename = function (...args) {
  const file = original.apply(this, args);
  const m = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(file);
  if (m) appendFileSync(${JSON.stringify(log)}, m[1] + '\\n');
  return file;
};
`);
  const child = spawn(process.execPath, ['--import', pathToFileURL(register).href, BIN, ...args, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
  const exited = once(child, 'exit');
  const deadline = Date.now() + 20_000;
  while (!/listening on /.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGTERM');
  await exited;
  assert.match(out, /listening on /, `the gateway did not start: ${out}`);
  return new Set(readFileSync(log, 'utf8').split('\n').filter((l) => l !== ''));
}

test('a JSON-configured gateway on the memory store loads none of ioredis, better-sqlite3, yaml, prom-client', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ditto-lazy-'));
  try {
    const cfg = { backends: [{ name: 'mock', provider: 'mock' }], virtual_keys: [{ id: 'k', token: 'sk-lazy-0123456789' }], router: { default_backend: 'mock' } };
    writeFileSync(join(dir, 'gateway.json'), JSON.stringify(cfg));
    const plain = await packagesLoaded(dir, 'plain', [join(dir, 'gateway.json')]);
    assert.ok(plain.has('undici'), 'the hook sees packages (undici is always loaded)');
    for (const p of OPTIONAL) assert.ok(!plain.has(p), `${p} was loaded by a plain gateway`);

    // Each is loaded when asked for: the hook is not blind to them.
    writeFileSync(join(dir, 'gateway.yaml'), `backends:\n  - name: mock\n    provider: mock\nvirtual_keys:\n  - id: k\n    token: sk-lazy-0123456789\nrouter:\n  default_backend: mock\n`);
    const full = await packagesLoaded(dir, 'full', [join(dir, 'gateway.yaml'), '--sqlite', join(dir, 'g.db'), '--prometheus-metrics']);
    for (const p of ['better-sqlite3', 'yaml', 'prom-client']) assert.ok(full.has(p), `${p} was not loaded when asked for`);
    assert.ok(!full.has('ioredis'), 'ioredis is for --redis only');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
