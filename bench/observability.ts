/**
 * The observability cost scenario of `npm run bench`: the same gateway with everything off (the
 * default human access line) and with `--json-logs --prometheus-metrics --otel` (spans exported to an
 * OTLP/HTTP receiver in the runner, on the load core), measured in alternating windows of one run.
 *
 * Also runnable alone (after `npm run build`), printing req/s and gateway CPU µs per request per window:
 *   node dist/bench/observability.js [--duration S] [--rounds N] [--connections C] [--warmup S]
 *     [--node-flags "--cpu-prof --cpu-prof-dir=/tmp/prof"] [--on-flags "..."] [--no-pin]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { hasTaskset, pinSelf, startService, stopAll, type Service } from './children.js';
import { BENCH_TOKEN, CHAT_BODY, CHAT_PATH } from './fixtures.js';
import { LoadGenerator, pickGenerator, type LoadResult } from './load.js';
import { cpuSeconds } from './proc.js';
import { fmtInt, type Cell } from './report.js';

export interface ObservabilityRun {
  off: Cell;
  on: Cell;
  /** Spans the in-runner OTLP receiver accepted. */
  spans: number;
  /** `ditto_gateway_proxy_requests_total` from the last scrape of the instrumented gateway. */
  scrapedRequests: number | undefined;
}

export interface ObservabilityDeps {
  connections: number;
  rounds: number;
  warmupS: number;
  startGateway(name: string, logFile: string, extra: string[]): Promise<{ svc: Service; url: string }>;
  warmup(url: string, connections: number, seconds: number): Promise<unknown>;
  measure(cell: Cell, url: string, pid: number, label: string): Promise<LoadResult>;
  logPath(name: string): string;
  log(message: string): void;
}

/** An OTLP/HTTP traces receiver that counts spans (JSON bodies) and answers 200. */
async function startReceiver(): Promise<{ url: string; spans: () => number; close: () => Promise<void> }> {
  let spans = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const doc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: unknown[] }> }> };
        for (const r of doc.resourceSpans ?? []) for (const s of r.scopeSpans ?? []) spans += s.spans?.length ?? 0;
      } catch {
        // counted as nothing
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    spans: () => spans,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export async function measureObservability(d: ObservabilityDeps): Promise<ObservabilityRun> {
  const receiver = await startReceiver();
  const off = await d.startGateway('gateway, observability off', d.logPath('gateway-obs-off.log'), []);
  const on = await d.startGateway('gateway, metrics + JSON logs + tracing', d.logPath('gateway-obs-on.log'),
    ['--json-logs', '--prometheus-metrics', '--otel', '--otel-endpoint', receiver.url]);
  const offCell: Cell = { target: 'gateway-obs-off', connections: d.connections, runs: [], coreBusy: [] };
  const onCell: Cell = { target: 'gateway-obs-on', connections: d.connections, runs: [], coreBusy: [] };
  let scrapedRequests: number | undefined;
  try {
    d.log(`observability on vs off: warm-up ${d.warmupS} s each, then ${d.rounds} alternating window pair(s) at ${d.connections} connections`);
    await d.warmup(off.url, d.connections, d.warmupS);
    await d.warmup(on.url, d.connections, d.warmupS);
    for (let round = 0; round < d.rounds; round++) {
      const order = round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const);
      for (const side of order) {
        if (side === 'off') await d.measure(offCell, off.url, off.svc.pid, `c=${d.connections} observability off`);
        else await d.measure(onCell, on.url, on.svc.pid, `c=${d.connections} metrics+logs+tracing`);
      }
    }
    const text = await (await fetch(`${on.url}/metrics/prometheus`)).text();
    const m = /^ditto_gateway_proxy_requests_total (\d+)$/m.exec(text);
    scrapedRequests = m ? Number(m[1]) : undefined;
  } finally {
    await off.svc.stop();
    await on.svc.stop(); // SIGTERM: the gateway flushes its span queue before exiting
    await receiver.close();
  }
  d.log(`  OTLP receiver got ${receiver.spans()} spans; the instrumented gateway counted ${scrapedRequests ?? 'n/a'} requests`);
  return { off: offCell, on: onCell, spans: receiver.spans(), scrapedRequests };
}

const HELP = `usage: node dist/bench/observability.js [--duration S=5] [--rounds N=3] [--connections C=64] [--warmup S=2]
  [--node-flags "FLAGS"] (both gateways) [--on-flags "FLAGS"] (instrumented gateway only) [--generator wrk|autocannon] [--no-pin]`;

/** Standalone: mock upstream + the two gateways, alternating windows, CPU µs/req per side. */
async function standalone(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' }, rounds: { type: 'string' }, connections: { type: 'string' }, warmup: { type: 'string' },
      'node-flags': { type: 'string' }, 'on-flags': { type: 'string' }, generator: { type: 'string' },
      'no-pin': { type: 'boolean', default: false }, help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const num = (v: string | undefined, d: number): number => (v === undefined ? d : Number(v));
  const durationS = num(values.duration, 5);
  const flags = (v: string | undefined): string[] => (v ?? '').split(/\s+/).filter((f) => f !== '');
  const nodeFlags = flags(values['node-flags']);
  const onFlags = flags(values['on-flags']);
  const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
  const canPin = !values['no-pin'] && hasTaskset() && cpus().length >= 2;
  const [gwCore, loadCore] = canPin ? [0, 1] : [undefined, undefined];
  if (canPin) pinSelf(1);
  const dir = mkdtempSync(join(tmpdir(), 'ditto-obs-bench-'));
  const load = new LoadGenerator(pickGenerator(values.generator), dir, loadCore);
  const log = (m: string): void => { process.stdout.write(`${m}\n`); };
  const mockJs = fileURLToPath(new URL('./mock-upstream.js', import.meta.url));
  const mock = await startService('mock upstream', loadCore, process.execPath, [mockJs], /^\{"port":\d+\}$/, join(dir, 'mock.log'));
  const mockUrl = `http://127.0.0.1:${(JSON.parse(mock.readyLine) as { port: number }).port}`;
  const configPath = join(dir, 'gateway.json');
  writeFileSync(configPath, JSON.stringify({
    backends: [{ name: 'bench-upstream', base_url: `${mockUrl}/v1` }],
    virtual_keys: [{ id: 'bench', token: BENCH_TOKEN, enabled: true }],
    router: { default_backends: [{ backend: 'bench-upstream', weight: 1 }] },
  }));
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${BENCH_TOKEN}` };
  const spec = (url: string, connections: number, s: number) => ({ url: url + CHAT_PATH, connections, durationS: s, body: CHAT_BODY, headers });
  try {
    const run = await measureObservability({
      connections: num(values.connections, 64),
      rounds: num(values.rounds, 3),
      warmupS: num(values.warmup, 2),
      startGateway: async (name, logFile, extra) => {
        const svc = await startService(name, gwCore, process.execPath,
          [...nodeFlags, ...(extra.length > 0 ? onFlags : []), join(root, 'bin', 'ditto-gateway.js'), configPath, '--listen', '127.0.0.1:0', ...extra],
          /listening on /, logFile);
        return { svc, url: `http://${/listening on (\S+)/.exec(svc.readyLine)?.[1] ?? ''}` };
      },
      warmup: (url, c, s) => load.run(spec(url, c, s)),
      measure: async (cell, url, pid, label) => {
        const cpu0 = cpuSeconds(pid);
        const r = await load.run(spec(url, cell.connections, durationS));
        const cpu1 = cpuSeconds(pid);
        cell.runs.push(r);
        if (cpu0 !== undefined && cpu1 !== undefined) cell.cpuS = (cell.cpuS ?? 0) + (cpu1 - cpu0);
        const us = cpu0 !== undefined && cpu1 !== undefined ? (((cpu1 - cpu0) * 1e6) / r.requests).toFixed(1) : 'n/a';
        log(`  ${label.padEnd(30)} ${fmtInt(r.rps).padStart(7)} req/s  ${us} µs/req${r.errors ? `  ERRORS ${r.errors}` : ''}`);
        return r;
      },
      logPath: (name) => join(dir, name),
      log,
    });
    const total = (c: Cell): { rps: number; us: number } => {
      const reqs = c.runs.reduce((a, r) => a + r.requests, 0);
      const secs = c.runs.reduce((a, r) => a + r.durationS, 0);
      return { rps: reqs / secs, us: ((c.cpuS ?? 0) * 1e6) / reqs };
    };
    const off = total(run.off);
    const on = total(run.on);
    log(`off ${fmtInt(off.rps)} req/s @ ${off.us.toFixed(1)} µs/req; on ${fmtInt(on.rps)} req/s @ ${on.us.toFixed(1)} µs/req: ` +
      `throughput cost ${((1 - on.rps / off.rps) * 100).toFixed(1)}%, CPU +${(on.us - off.us).toFixed(1)} µs/req`);
  } finally {
    await mock.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.on('SIGINT', () => { void stopAll().then(() => process.exit(130)); });
  standalone(process.argv.slice(2)).catch(async (err: unknown) => {
    process.stderr.write(`observability bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    await stopAll();
    process.exit(1);
  });
}
