import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, connect } from 'node:net';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';

/** Helpers for tests that need a real Redis (CONTRACT: no mocks of stores). */

export const REDIS_URL = 'redis://127.0.0.1:6379';
const REQUIRE = process.env.REQUIRE_SERVICES === '1';

/** True if something answers PING at host:port within the timeout. */
export async function redisReachable(host = '127.0.0.1', port = 6379, timeoutMs = 1500): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const sock = connect({ host, port });
    const done = (ok: boolean) => { sock.destroy(); resolve(ok); };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

/**
 * Why Redis-backed tests must skip here, or undefined to run them. Under REQUIRE_SERVICES=1 (CI) an
 * unreachable Redis never skips: the tests run and fail.
 */
export async function redisSkipReason(): Promise<string | undefined> {
  if (REQUIRE || await redisReachable()) return undefined;
  return 'redis not reachable at 127.0.0.1:6379';
}

/** Why tests that start their own redis-server must skip here, or undefined to run them. */
export async function redisServerSkipReason(): Promise<string | undefined> {
  if (REQUIRE) return undefined;
  const child = spawn('redis-server', ['--version'], { stdio: 'ignore' });
  const [code] = await Promise.race([once(child, 'exit'), once(child, 'error').then(() => [-1])]) as [number | null];
  return code === 0 ? undefined : 'redis-server not found on PATH';
}

/** `describe` the suite, or, with a skip reason, register one skipped test that carries the reason. */
export function describeUnlessSkipped(name: string, skip: string | undefined, fn: () => void): void {
  if (skip === undefined) describe(name, fn);
  else test(name, { skip }, () => undefined);
}

/** A plain client for inspecting Redis in tests; fails instead of retrying when Redis is down. */
export function rawRedis(url = REDIS_URL): Redis {
  return new Redis(url, { maxRetriesPerRequest: 0, connectTimeout: 2_000, retryStrategy: () => null });
}

/** A unique key prefix for one test run. */
export function testPrefix(): string {
  return `ditto-test-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Delete every key of a prefix (`{prefix}:*`). */
export async function deletePrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const c = rawRedis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await c.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await c.del(...keys);
    } while (cursor !== '0');
  } finally {
    c.disconnect();
  }
}

/** A free TCP port on 127.0.0.1 (released before returning). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  srv.close();
  await once(srv, 'close');
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

/**
 * A redis-server this test owns, bound to 127.0.0.1:port, without persistence unless `extraArgs` turn it on
 * (later flags win). Resolves once it accepts connections.
 */
export async function startRedisServer(port: number, extraArgs: readonly string[] = []): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs];
  const child = spawn('redis-server', args, {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 15_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) { clearTimeout(timer); resolve(); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`redis-server exited ${code}: ${out}`)); });
    child.once('error', (err) => { clearTimeout(timer); reject(err); });
  });
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}

/** SIGKILL a child and wait until it is gone. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}
