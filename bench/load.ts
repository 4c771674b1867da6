/**
 * Closed-loop HTTP load: `wrk` when installed (C, cheap on the shared core, microsecond latency
 * histogram), otherwise autocannon's CLI (Node), both as a child pinned to the load core. autocannon
 * records whole milliseconds, so with it the 1-connection windows use a sequential node:http client in
 * this (pinned) process instead, which times each request in microseconds.
 */
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { hasCommand, pinned, runCommand } from './children.js';
import { percentile } from './ttfb.js';

export type GeneratorName = 'wrk' | 'autocannon';

/** One closed-loop run. Latencies in milliseconds. */
export interface LoadResult {
  requests: number;
  durationS: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Connect/read/write/timeout errors plus non-2xx answers. */
  errors: number;
}

export interface LoadSpec {
  url: string;
  connections: number;
  durationS: number;
  body: string;
  headers: Readonly<Record<string, string>>;
}

/** `wrk` if it runs, else autocannon. */
export function pickGenerator(wanted: string | undefined): GeneratorName {
  if (wanted === 'wrk' || wanted === 'autocannon') return wanted;
  return hasCommand('wrk', ['-v']) ? 'wrk' : 'autocannon';
}

/** A load generator bound to a scratch directory (for its script and body files) and a core. */
export class LoadGenerator {
  readonly name: GeneratorName;
  readonly #dir: string;
  readonly #core: number | undefined;
  readonly #bodyFiles = new Map<string, string>();

  constructor(name: GeneratorName, scratchDir: string, core: number | undefined) {
    this.name = name;
    this.#dir = scratchDir;
    this.#core = core;
  }

  run(spec: LoadSpec): Promise<LoadResult> {
    if (this.name === 'wrk') return this.#wrk(spec);
    return spec.connections === 1 ? sequential(spec) : this.#autocannon(spec);
  }

  /** Which client measures a window with this many connections. */
  clientFor(connections: number): string {
    return this.name === 'autocannon' && connections === 1 ? 'sequential node:http client' : this.name;
  }

  #bodyFile(body: string): string {
    let path = this.#bodyFiles.get(body);
    if (path === undefined) {
      path = join(this.#dir, `body-${this.#bodyFiles.size}.json`);
      writeFileSync(path, body);
      this.#bodyFiles.set(body, path);
    }
    return path;
  }

  async #wrk(spec: LoadSpec): Promise<LoadResult> {
    const bodyPath = this.#bodyFile(spec.body);
    const script = join(this.#dir, `wrk-${this.#bodyFiles.size}.lua`);
    const headerLines = Object.entries(spec.headers)
      .map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`).join('\n');
    // `done` prints one machine-readable line; wrk's latency histogram is in microseconds and counts
    // non-2xx/3xx answers under errors.status.
    writeFileSync(script, `
local f = assert(io.open(${JSON.stringify(bodyPath)}, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
${headerLines}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH_JSON {"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`);
    const [cmd, args] = pinned(this.#core, 'wrk', [
      '-t1', `-c${spec.connections}`, `-d${spec.durationS}s`, '--timeout', '10s', '-s', script, spec.url,
    ]);
    const out = await runCommand(cmd, args);
    const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
    if (!line) throw new Error(`wrk printed no result:\n${out}`);
    const r = JSON.parse(line.slice('BENCH_JSON '.length)) as {
      requests: number; duration_us: number; errors: number; p50_us: number; p99_us: number;
    };
    const durationS = r.duration_us / 1e6;
    return { requests: r.requests, durationS, rps: r.requests / durationS, p50Ms: r.p50_us / 1000, p99Ms: r.p99_us / 1000, errors: r.errors };
  }

  async #autocannon(spec: LoadSpec): Promise<LoadResult> {
    const cli = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
    const headerArgs = Object.entries(spec.headers).flatMap(([k, v]) => ['-H', `${k}=${v}`]);
    const [cmd, args] = pinned(this.#core, process.execPath, [
      cli, '-j', '-n', '-c', String(spec.connections), '-d', String(spec.durationS), '-t', '10',
      '-m', 'POST', '-i', this.#bodyFile(spec.body), ...headerArgs, spec.url,
    ]);
    const out = await runCommand(cmd, args);
    const r = JSON.parse(out.trim().split('\n').pop() as string) as {
      requests: { total: number }; duration: number; latency: { p50: number; p99: number };
      errors: number; timeouts: number; non2xx: number; '2xx': number;
    };
    return {
      requests: r['2xx'] + r.non2xx,
      durationS: r.duration,
      rps: (r['2xx'] + r.non2xx) / r.duration,
      p50Ms: r.latency.p50,
      p99Ms: r.latency.p99,
      errors: r.errors + r.timeouts + r.non2xx,
    };
  }
}

/** One connection, one request at a time, for `durationS`; each request timed to its last byte. */
async function sequential(spec: LoadSpec): Promise<LoadResult> {
  const u = new URL(spec.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const payload = Buffer.from(spec.body);
  const headers = { ...spec.headers, 'content-length': String(payload.length) };
  const once = (): Promise<number> => new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
  const times: number[] = [];
  let errors = 0;
  const start = performance.now();
  const end = start + spec.durationS * 1000;
  try {
    while (performance.now() < end) {
      const t0 = performance.now();
      const status = await once().catch(() => 0);
      times.push(performance.now() - t0);
      if (status < 200 || status >= 300) errors++;
    }
  } finally {
    agent.destroy();
  }
  const durationS = (performance.now() - start) / 1000;
  return { requests: times.length, durationS, rps: times.length / durationS, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99), errors };
}
