// STYLE §3.3: every protocol folder has the same file set, and each file exports what its role promises.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PROTOCOLS } from '../../src/protocols/index.js';

const ROOT = fileURLToPath(new URL('../../../src/protocols/', import.meta.url));
const REQUIRED: Record<string, string[]> = {
  'wire.ts': [],
  'request.ts': ['toIr', 'fromIr'],
  'response.ts': ['toIr', 'fromIr'],
  'stream.ts': ['createDecoder', 'createEncoder'],
  'finish-reason.ts': ['mapFinishReasonToIr', 'mapFinishReasonFromIr'],
  'usage.ts': ['convertUsageToIr', 'convertUsageFromIr'],
  'errors.ts': ['parseUpstreamError', 'renderError'],
};

const folders = readdirSync(ROOT).filter((n) => statSync(ROOT + n).isDirectory()).sort();

test('every protocol folder is registered, and every registered protocol has a folder', () => {
  assert.deepEqual(folders, Object.keys(PROTOCOLS).sort());
});

for (const folder of folders) {
  test(`protocols/${folder} has the required file set and exports`, async () => {
    const files = readdirSync(ROOT + folder);
    for (const [file, exports] of Object.entries(REQUIRED)) {
      assert.ok(files.includes(file), `protocols/${folder}/${file} is missing`);
      const mod = await import(new URL(`../../src/protocols/${folder}/${file.replace(/\.ts$/, '.js')}`, import.meta.url).href) as Record<string, unknown>;
      for (const name of exports) assert.equal(typeof mod[name], 'function', `protocols/${folder}/${file} must export ${name}()`);
    }
  });
}
