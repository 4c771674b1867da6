import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { StoreSchemaError } from '../../src/store/errors.js';
import { StateFileStore } from '../../src/store/state-file.js';

const dir = mkdtempSync(join(tmpdir(), 'ditto-state-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
let n = 0;
const file = () => join(dir, `state-${++n}.json`);

test('--state: absent file is unseeded; saves write {virtual_keys, router} with sha256 tokens only', async () => {
  const path = file();
  const store = new StateFileStore(path);
  assert.equal(await store.loadConfig(), null);
  await store.saveConfig({
    virtualKeys: [{ id: 'b', token: ' sk-b-secret ', enabled: true, limits: { rpm: 3 } }, { id: 'a', token: 'sk-a-secret', enabled: false }],
    router: { default_backends: [{ backend: 'primary', weight: 1 }] },
  });
  const text = readFileSync(path, 'utf8');
  assert.ok(!text.includes('secret'));
  const doc = JSON.parse(text) as { virtual_keys: { id: string; token: string }[]; router: unknown };
  assert.deepEqual(Object.keys(doc), ['virtual_keys', 'router']);
  assert.deepEqual(doc.virtual_keys.map((k) => [k.id, k.token]), [['a', sha('sk-a-secret')], ['b', sha('sk-b-secret')]]);
  assert.deepEqual(doc.router, { default_backends: [{ backend: 'primary', weight: 1 }] });

  // A fresh process (new instance) loads what was written; auth can match the digests.
  const reopened = new StateFileStore(path);
  const loaded = await reopened.loadConfig();
  assert.deepEqual(loaded?.virtualKeys.map((k) => [k.id, k.token, k.enabled, k.limits]),
    [['a', sha('sk-a-secret'), false, undefined], ['b', sha('sk-b-secret'), true, { rpm: 3 }]]);
});

test('--state: every change rewrites the file atomically; concurrent changes are serialised', async () => {
  const path = file();
  const store = new StateFileStore(path);
  await Promise.all(Array.from({ length: 20 }, (_, i) => store.upsertKey({ id: `k${String(i).padStart(2, '0')}`, token: `t${i}`, enabled: true })));
  assert.equal(await store.deleteKey('k03'), true);
  assert.equal(await store.deleteKey('k03'), false);
  await store.saveRouter(null);
  const doc = JSON.parse(readFileSync(path, 'utf8')) as { virtual_keys: { id: string }[]; router?: unknown };
  assert.equal(doc.virtual_keys.length, 19);
  assert.equal(doc.router, undefined, 'router is optional in the file');
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temp files left behind');
  const again = await new StateFileStore(path).loadConfig();
  assert.equal(again?.virtualKeys.length, 19);
  assert.equal(again?.router, null);
});

test('--state: an invalid file is a schema error naming the path', async () => {
  const path = file();
  writeFileSync(path, '{"virtual_keys": [{"id": 1}]}');
  await assert.rejects(new StateFileStore(path).loadConfig(), (err: unknown) => err instanceof StoreSchemaError && err.message.includes(path));
  writeFileSync(path, 'not json');
  await assert.rejects(new StateFileStore(path).loadConfig(), StoreSchemaError);
});
