import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { z } from 'zod';
import { RouterSchema, VirtualKeySchema, type RouterConfig, type VirtualKeyConfig } from '../config/schema.js';
import { StoreSchemaError, StoreUnavailableError } from './errors.js';
import { checkUniqueIds, parseJson, sortKeys, toPersistedKey } from './records.js';
import type { ConfigStore, PersistedConfig } from './store.js';

const StateSchema = z.object({
  virtual_keys: z.array(VirtualKeySchema).nullish(),
  router: RouterSchema.nullish(),
});

/**
 * `--state PATH` (CONTRACT §4.15): keys and router only, as `{"virtual_keys":[…],"router":{…}}`.
 * Tokens are written as `sha256:` digests. Every change rewrites the whole file atomically (temp file,
 * fsync, rename), so a crash leaves the old or the new file, never a torn one. Writes are serialised.
 */
export class StateFileStore implements ConfigStore {
  readonly kind = 'state' as const;
  readonly path: string;
  #state: PersistedConfig | null | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  loadConfig(): Promise<PersistedConfig | null> {
    return this.#serial(async () => clone(await this.#load()));
  }

  async saveConfig(config: PersistedConfig): Promise<void> {
    checkUniqueIds(config.virtualKeys);
    return this.#serial(() => this.#write({ virtualKeys: config.virtualKeys.map(toPersistedKey), router: config.router }));
  }

  async upsertKey(key: VirtualKeyConfig): Promise<void> {
    const k = toPersistedKey(key);
    return this.#serial(async () => {
      const cur = (await this.#load()) ?? { virtualKeys: [], router: null };
      await this.#write({ virtualKeys: [...cur.virtualKeys.filter((x) => x.id !== k.id), k], router: cur.router });
    });
  }

  deleteKey(id: string): Promise<boolean> {
    return this.#serial(async () => {
      const cur = await this.#load();
      if (!cur || !cur.virtualKeys.some((k) => k.id === id)) return false;
      await this.#write({ virtualKeys: cur.virtualKeys.filter((k) => k.id !== id), router: cur.router });
      return true;
    });
  }

  saveRouter(router: RouterConfig | null): Promise<void> {
    return this.#serial(async () => {
      const cur = await this.#load();
      await this.#write({ virtualKeys: cur?.virtualKeys ?? [], router });
    });
  }

  close(): Promise<void> {
    return this.#serial(() => Promise.resolve());
  }

  /** Reads the file once; later reads come from memory (this process is the only writer). */
  async #load(): Promise<PersistedConfig | null> {
    if (this.#state !== undefined) return this.#state;
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return (this.#state = null);
      throw new StoreUnavailableError('state', `cannot read ${this.path}: ${(err as Error).message}`, { cause: err });
    }
    const parsed = StateSchema.safeParse(parseJson('state', text, `state file ${this.path}`));
    if (!parsed.success) throw new StoreSchemaError('state', `${this.path}: ${parsed.error.message}`);
    return (this.#state = {
      virtualKeys: sortKeys(parsed.data.virtual_keys ?? []),
      router: parsed.data.router ?? null,
    });
  }

  async #write(next: PersistedConfig): Promise<void> {
    const state = { virtualKeys: sortKeys([...next.virtualKeys]), router: next.router };
    const doc: Record<string, unknown> = { virtual_keys: state.virtualKeys };
    if (state.router !== null) doc.router = state.router;
    const tmp = `${this.path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(`${JSON.stringify(doc, null, 2)}\n`, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw new StoreUnavailableError('state', `cannot write ${this.path}: ${(err as Error).message}`, { cause: err });
    }
    this.#state = clone(state);
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

function clone(c: PersistedConfig | null): PersistedConfig | null {
  return c === null ? null : structuredClone(c);
}
