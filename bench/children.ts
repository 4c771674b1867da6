/**
 * Child processes of the benchmark, each optionally pinned to one core with `taskset -c` (taskset
 * execs the command, so the child's pid is the pinned process's pid).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

/** True when `taskset` is on PATH. */
export function hasTaskset(): boolean {
  return spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
}

/** True when `cmd` runs (e.g. `wrk -v`). */
export function hasCommand(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.error === undefined;
}

/** Pin this process (all its threads) to `core`; false when that failed. */
export function pinSelf(core: number): boolean {
  return spawnSync('taskset', ['-a', '-p', '-c', String(core), String(process.pid)], { stdio: 'ignore' }).status === 0;
}

/** The command line that runs `cmd args` on `core`, or unpinned when `core` is undefined. */
export function pinned(core: number | undefined, cmd: string, args: readonly string[]): [string, string[]] {
  return core === undefined ? [cmd, [...args]] : ['taskset', ['-c', String(core), cmd, ...args]];
}

/** A long-running child (mock upstream, gateway) with its stderr sent to a file. */
export interface Service {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** The first stdout line matching the ready pattern. */
  readonly readyLine: string;
  stop(): Promise<void>;
}

const running = new Set<Service>();

/**
 * Start `cmd args` (pinned to `core` when given), wait until a stdout line matches `ready`, and keep
 * its stderr in `stderrPath` (or discard it).
 */
export function startService(
  name: string,
  core: number | undefined,
  cmd: string,
  args: readonly string[],
  ready: RegExp,
  stderrPath?: string,
  timeoutMs = 20_000,
  env?: Readonly<Record<string, string>>,
): Promise<Service> {
  const [file, argv] = pinned(core, cmd, args);
  const errFd = stderrPath === undefined ? 'ignore' : openSync(stderrPath, 'w');
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', errFd], ...(env ? { env: { ...process.env, ...env } } : {}) });
  if (typeof errFd === 'number') closeSync(errFd); // the child holds its own copy
  return new Promise<Service>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => fail(new Error(`${name} did not start within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    const onExit = (code: number | null): void => {
      fail(new Error(`${name} exited (code ${code}) before it was ready${stderrPath ? `; see ${stderrPath}` : ''}`));
    };
    child.once('error', fail);
    child.once('exit', onExit);
    child.stdout?.setEncoding('utf8');
    const onData = (s: string): void => {
      buf += s;
      for (const line of buf.split('\n')) {
        if (!ready.test(line)) continue;
        clearTimeout(timer);
        child.off('exit', onExit);
        child.stdout?.off('data', onData);
        child.stdout?.resume(); // keep draining so the child never blocks on a full pipe
        const service: Service = {
          name,
          child,
          pid: child.pid as number,
          readyLine: line,
          stop: () => stopChild(child).then(() => { running.delete(service); }),
        };
        running.add(service);
        resolve(service);
        return;
      }
    };
    child.stdout?.on('data', onData);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Stop every service still running (on error or interrupt). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop()));
}

/** Run a command to completion, capturing stdout; rejects on a non-zero exit. */
export function runCommand(cmd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { err += s; });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} exited with ${code}: ${err.trim().slice(-500)}`));
    });
  });
}
