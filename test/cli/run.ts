import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from dist/test/cli/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = fileURLToPath(new URL('../../../bin/ditto-gateway.js', import.meta.url));

/** How a CLI run ended. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Only what the child needs: no inherited API keys can leak into placeholder expansion. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env['PATH'] ?? '', ...env };
}

/** Run `ditto-gateway <args>` to completion (killed after `timeoutMs` as a safety net). */
export function runCli(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => { stdout += c; });
    child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => { clearTimeout(timer); reject(err); });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A gateway started as a child process, listening. */
export interface RunningCli {
  readonly child: ChildProcess;
  /** `host:port` from the `ditto-gateway listening on` line. */
  readonly address: string;
  /** Output so far. */
  output(): { stdout: string; stderr: string };
  /** Resolves when the process has exited. */
  readonly exited: Promise<CliResult>;
}

/** Start `ditto-gateway <args>` and wait for its `listening on` line (rejects if it exits first). */
export function startCli(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<RunningCli> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway did not start within ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    child.stdout.on('data', (c: string) => {
      stdout += c;
      const m = /^ditto-gateway listening on (\S+)$/m.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve({ child, address: m[1] as string, output: () => ({ stdout, stderr }), exited });
      }
    });
    void exited.then((r) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited (${r.code ?? r.signal}) before listening; stderr:\n${r.stderr}`));
    }, reject);
  });
}
