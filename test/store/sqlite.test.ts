import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStoreConformance } from '../../src/store/conformance.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'ditto-sqlite-conf-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

runStoreConformance('sqlite', {
  async open(clock) {
    const path = join(dir, `store-${++n}.sqlite`);
    const opened: SqliteStore[] = [await openSqliteStore(path, { clock })];
    return {
      store: opened[0] as SqliteStore,
      async replica() {
        const s = await openSqliteStore(path, { clock });
        opened.push(s);
        return s;
      },
      async cleanup() {
        for (const s of opened) await s.close();
        for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
      },
    };
  },
});
