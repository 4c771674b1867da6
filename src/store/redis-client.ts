import { createHash } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { StoreError, StoreUnavailableError } from './errors.js';

/**
 * The ioredis connection of the Redis store, set up to fail fast and heal by itself:
 *  - connect and command timeouts are bounded, so no call can hang;
 *  - while the connection is not ready every call is rejected at once with `StoreUnavailableError`
 *    (no offline queue, no waiting for a reconnect), and commands cut off by a broken connection are
 *    not resent later (a resent admission could be applied twice);
 *  - reconnection runs forever in the background with capped backoff, so service resumes on its own.
 */

export interface RedisConnectionOptions {
  /** Bound on establishing a connection (default 1000 ms). */
  connectTimeoutMs?: number;
  /** Bound on one command or script, reply included (default 1000 ms). */
  commandTimeoutMs?: number;
  /** Called on connection errors (for logging); never throws into the store. */
  onError?: (err: Error) => void;
}

/** Errors Redis answers with while it cannot serve (as opposed to a bug in a script or command). */
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|OOM|CLUSTERDOWN|TRYAGAIN|NOREPLICAS|MISCONF)\b/;

/** Map an ioredis failure to a typed store error. */
export function mapRedisError(err: unknown): Error {
  if (err instanceof StoreError || err instanceof TypeError || err instanceof RangeError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const isReply = err instanceof Error && err.name === 'ReplyError';
  if (!isReply || UNAVAILABLE_REPLY.test(message)) return new StoreUnavailableError('redis', message, { cause: err });
  return new StoreError('redis', 'STORE_ERROR', `redis store error: ${message}`, { cause: err });
}

/** A loaded Lua script, run by EVALSHA with an EVAL fallback after a server restart or SCRIPT FLUSH. */
export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

/** Prepare a script for {@link RedisConnection.run}. */
export function luaScript(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

export class RedisConnection {
  readonly client: Redis;
  #lastError: string | null = null;
  #onReady: (() => void) | null = null;

  constructor(url: string, options: RedisConnectionOptions = {}) {
    const redisOptions: RedisOptions = {
      lazyConnect: true,
      connectTimeout: options.connectTimeoutMs ?? 1000,
      commandTimeout: options.commandTimeoutMs ?? 1000,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: true,
      autoResendUnfulfilledCommands: false,
      enableReadyCheck: true,
      retryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times, 4), 1000),
    };
    this.client = new Redis(url, redisOptions);
    this.client.on('error', (err: Error) => {
      this.#lastError = err.message;
      options.onError?.(err);
    });
    this.client.on('ready', () => {
      this.#lastError = null;
      this.#onReady?.();
    });
  }

  /** Connect once; rejects with `StoreUnavailableError` (and stops retrying) if the server cannot be reached in time. */
  async connect(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.client.connect(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (err) {
      this.client.disconnect();
      throw new StoreUnavailableError('redis', err instanceof Error ? err.message : String(err), { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Called each time the connection becomes ready again. */
  onReady(fn: () => void): void {
    this.#onReady = fn;
  }

  /** Reject at once while disconnected. */
  ensureReady(): void {
    if (this.client.status !== 'ready') {
      const why = this.#lastError ?? `connection ${this.client.status}`;
      throw new StoreUnavailableError('redis', why);
    }
  }

  /** Run a command through the fail-fast gate and typed error mapping. */
  async call<T>(fn: (c: Redis) => Promise<T>): Promise<T> {
    this.ensureReady();
    try {
      return await fn(this.client);
    } catch (err) {
      throw mapRedisError(err);
    }
  }

  /** EVALSHA, loading the script on NOSCRIPT. One round trip in the steady state. */
  run(script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    return this.call(async (c) => {
      try {
        return await c.evalsha(script.sha, keys.length, ...keys, ...args);
      } catch (err) {
        if (err instanceof Error && err.message.startsWith('NOSCRIPT')) {
          return await c.eval(script.source, keys.length, ...keys, ...args);
        }
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    this.#onReady = null;
    if (this.client.status === 'end') return;
    try {
      if (this.client.status === 'ready') await this.client.quit();
      else this.client.disconnect();
    } catch {
      this.client.disconnect();
    }
  }
}
