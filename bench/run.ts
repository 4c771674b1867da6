/**
 * `npm run bench`: direct-to-upstream vs through-the-gateway, in one interleaved run.
 *
 * Layout on a 2-core machine: the gateway CLI alone on core 0; the mock upstream, the load generator
 * (wrk, or autocannon) and this runner on core 1. For each connection count it alternates direct and
 * gateway windows, and reads the gateway's CPU time and peak RSS from /proc. Then it samples SSE
 * time to first byte, optionally measures a `--json-logs` gateway, prints a table and writes
 * docs/BENCHMARKS.md.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { hasTaskset, pinSelf, startService, stopAll, type Service } from './children.js';
import { BENCH_TOKEN, CHAT_BODY, CHAT_PATH, COMPLETION_BODY, SSE_FIRST, SSE_REST, STREAM_BODY } from './fixtures.js';
import { LoadGenerator, pickGenerator, type LoadResult } from './load.js';
import { coreBusy, coreTimes, cpuSeconds, loadAverage, machineSummary, RssSampler, vmBytes } from './proc.js';
import {
  between, consoleTable, GOVERNANCE_END, GOVERNANCE_START, markdown, NOTES_END, NOTES_START, summarize, summarizeTtfb, fmtInt,
  type BenchResults, type Cell,
} from './report.js';
import { createTtfbSampler } from './ttfb.js';
import { measureObservability, type ObservabilityRun } from './observability.js';
import { guardrailsConfig, measureGuardrails, type GuardrailsRun } from './guardrails.js';
import { measureTranslation, type TranslationRun } from './translation-micro.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const GATEWAY_BIN = join(ROOT, 'bin', 'ditto-gateway.js');
const MOCK_JS = fileURLToPath(new URL('./mock-upstream.js', import.meta.url));
const DOC_PATH = join(ROOT, 'docs', 'BENCHMARKS.md');

const HELP = `usage: node dist/bench/run.js [options]   (npm run bench -- [options])

  --quick              ~30 s smoke run (1 round of 2 s windows); does not write docs unless --write
  --duration S         seconds per measured window (default 8)
  --rounds N           interleaved rounds per cell (default 2)
  --connections LIST   connection counts (default 1,16,64)
  --generator NAME     wrk | autocannon (default: wrk if installed, else autocannon)
  --ttfb-samples N     SSE first-byte samples per side (default 2000)
  --no-json-logs       skip the --json-logs gateway measurement
  --no-memory-default  skip the gateway run with V8's default memory settings (DITTO_GATEWAY_MEMORY=default)
  --no-observability   skip the observability on/off measurement (metrics + JSON logs + tracing)
  --no-guardrails      skip the guardrails measurement (a key with every guardrail vs none, 2 KB prompt)
  --no-translation     skip the translation measurement (CPU per translated chunk, TTFB vs passthrough)
  --no-pin             do not pin processes to cores
  --no-cross-core      skip the calibration rows with the upstream on the gateway's core
  --node-flags FLAGS   extra node flags for the gateway processes (e.g. "--max-semi-space-size=4")
  --write / --no-write write docs/BENCHMARKS.md or not (default: write, except with --quick)
  --out PATH           write the report here instead of docs/BENCHMARKS.md
  --note TEXT          a line added to the report (e.g. "busy machine")
  --help
`;

interface Options {
  quick: boolean;
  durationS: number;
  warmupS: number;
  rounds: number;
  connections: number[];
  generator: string | undefined;
  ttfbSamples: number;
  jsonLogs: boolean;
  memoryDefault: boolean;
  observability: boolean;
  guardrails: boolean;
  translation: boolean;
  pin: boolean;
  crossCore: boolean;
  nodeFlags: string[];
  write: boolean;
  out: string;
  note: string | undefined;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
      generator: { type: 'string' },
      'ttfb-samples': { type: 'string' },
      'no-json-logs': { type: 'boolean', default: false },
      'no-memory-default': { type: 'boolean', default: false },
      'no-observability': { type: 'boolean', default: false },
      'no-guardrails': { type: 'boolean', default: false },
      'no-translation': { type: 'boolean', default: false },
      'no-pin': { type: 'boolean', default: false },
      'no-cross-core': { type: 'boolean', default: false },
      'node-flags': { type: 'string' },
      write: { type: 'boolean' },
      'no-write': { type: 'boolean', default: false },
      out: { type: 'string' },
      note: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const quick = values.quick === true;
  const int = (v: string | undefined, d: number, name: string): number => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${v}"`);
    return n;
  };
  const durationS = int(values.duration, quick ? 2 : 8, '--duration');
  return {
    quick,
    durationS,
    warmupS: quick ? 1 : 3,
    rounds: int(values.rounds, quick ? 1 : 2, '--rounds'),
    connections: (values.connections ?? '1,16,64').split(',').map((c) => int(c.trim(), 1, '--connections')),
    generator: values.generator,
    ttfbSamples: int(values['ttfb-samples'], quick ? 300 : 2000, '--ttfb-samples'),
    jsonLogs: !values['no-json-logs'],
    memoryDefault: !values['no-memory-default'],
    observability: !values['no-observability'],
    guardrails: !values['no-guardrails'],
    translation: !values['no-translation'],
    pin: !values['no-pin'],
    crossCore: !values['no-cross-core'],
    nodeFlags: (values['node-flags'] ?? '').split(/\s+/).filter((f) => f !== ''),
    write: values['no-write'] ? false : values.write ?? !quick,
    out: values.out !== undefined ? resolve(values.out) : DOC_PATH,
    note: values.note,
  };
}

const started = performance.now();
let plannedS = 0;
const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(0).padStart(3)}s`;
const log = (msg: string): void => { process.stdout.write(`[${elapsed()}${plannedS ? ` of ~${plannedS.toFixed(0)}s` : ''}] ${msg}\n`); };

const HEADERS = { 'content-type': 'application/json', authorization: `Bearer ${BENCH_TOKEN}` };
/** A second virtual key, pinned (`route`) to the upstream on the gateway's core: the like-for-like 1-connection row. */
const CORE0_TOKEN = `${BENCH_TOKEN}-core0`;
const CORE0_HEADERS = { 'content-type': 'application/json', authorization: `Bearer ${CORE0_TOKEN}` };

async function post(url: string, body: string): Promise<{ status: number; text: string; backend: string | null }> {
  const res = await fetch(url, { method: 'POST', headers: HEADERS, body });
  return { status: res.status, text: await res.text(), backend: res.headers.get('x-ditto-backend') };
}

/** Fail fast unless the gateway relays the mock's answers byte for byte. */
async function checkRelay(directUrl: string, gatewayUrl: string): Promise<void> {
  const d = await post(directUrl + CHAT_PATH, CHAT_BODY);
  const g = await post(gatewayUrl + CHAT_PATH, CHAT_BODY);
  if (d.status !== 200 || d.text !== COMPLETION_BODY) throw new Error(`mock upstream answered ${d.status}: ${d.text.slice(0, 200)}`);
  if (g.status !== 200 || g.text !== COMPLETION_BODY) throw new Error(`gateway answered ${g.status}: ${g.text.slice(0, 300)}`);
  if (g.backend !== 'bench-upstream') throw new Error(`gateway answered without x-ditto-backend: bench-upstream (got ${g.backend})`);
  for (const url of [directUrl, gatewayUrl]) {
    const s = createTtfbSampler(url + CHAT_PATH, STREAM_BODY, HEADERS);
    try {
      const r = await s.fetchOnce();
      if (r.status !== 200 || !r.contentType.startsWith('text/event-stream') || r.body !== SSE_FIRST + SSE_REST) {
        throw new Error(`${url} streamed ${r.status} ${r.contentType}: ${r.body.slice(0, 200)}`);
      }
    } finally {
      s.close();
    }
  }
  const bad = await fetch(gatewayUrl + CHAT_PATH, { method: 'POST', headers: { ...HEADERS, authorization: 'Bearer sk-wrong' }, body: CHAT_BODY });
  await bad.arrayBuffer();
  if (bad.status !== 401) throw new Error(`gateway accepted a wrong virtual key (status ${bad.status}): auth is not on`);
}

function gatewayConfig(mockUrl: string, core0Url?: string): string {
  return JSON.stringify({
    backends: [
      { name: 'bench-upstream', base_url: `${mockUrl}/v1` },
      ...(core0Url !== undefined ? [{ name: 'bench-upstream-core0', base_url: `${core0Url}/v1` }] : []),
    ],
    virtual_keys: [
      { id: 'bench', token: BENCH_TOKEN, enabled: true },
      ...(core0Url !== undefined ? [{ id: 'bench-core0', token: CORE0_TOKEN, enabled: true, route: 'bench-upstream-core0' }] : []),
    ],
    router: { default_backends: [{ backend: 'bench-upstream', weight: 1 }] },
  }, null, 2);
}

async function startGatewayProcess(name: string, core: number | undefined, nodeFlags: string[], configPath: string, logPath: string, extra: string[], env?: Record<string, string>): Promise<{ svc: Service; url: string }> {
  const svc = await startService(name, core, process.execPath, [...nodeFlags, GATEWAY_BIN, configPath, '--listen', '127.0.0.1:0', ...extra], /listening on /, logPath, undefined, env);
  const addr = /listening on (\S+)/.exec(svc.readyLine)?.[1];
  if (!addr) throw new Error(`cannot read the gateway address from "${svc.readyLine}"`);
  return { svc, url: `http://${addr}` };
}

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  if (!existsSync(join(ROOT, 'dist', 'src', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` (or `npm run bench`, which builds)');
  const generatorName = pickGenerator(o.generator);
  const canPin = o.pin && hasTaskset() && cpus().length >= 2;
  const [gwCore, loadCore] = canPin ? [0, 1] : [undefined, undefined];
  if (canPin && !pinSelf(1)) log('warning: could not pin the runner to core 1');
  const pinning = canPin
    ? 'gateway on core 0 (taskset -c 0); mock upstream, load generator and runner on core 1'
    : `none (${o.pin ? (cpus().length < 2 ? 'fewer than 2 cores' : 'taskset not found') : '--no-pin'}): numbers mix the processes' CPU`;
  const levels = o.connections;
  const cellsPerRound = levels.length * 2;
  const ttfbS = (o.ttfbSamples * 3 * 0.8) / 1000 + 1;
  plannedS = o.warmupS * 2 + o.rounds * (cellsPerRound + 2) * (o.durationS + 0.3) + ttfbS +
    (o.jsonLogs ? o.warmupS + o.rounds * (o.durationS + 0.3) : 0) +
    (o.memoryDefault ? o.warmupS + o.rounds * (o.durationS + 0.3) : 0) +
    (o.observability ? 2 * o.warmupS + 2 * o.rounds * (o.durationS + 0.3) : 0) +
    (o.guardrails ? 2 * o.warmupS + 2 * o.rounds * (o.durationS + 0.3) : 0) +
    (o.translation ? ttfbS + (o.quick ? 2 : 15) : 0) + 3;

  const dir = mkdtempSync(join(tmpdir(), 'ditto-bench-'));
  const load = new LoadGenerator(generatorName, dir, loadCore);
  const loadBefore = loadAverage();
  log(`ditto-gateway benchmark: ${machineSummary()}, Node ${process.version}`);
  log(`generator ${generatorName}${generatorName === 'autocannon' ? ` (wrk not found: 1-connection windows use the ${load.clientFor(1)})` : ''}; pinning: ${pinning}`);
  log(`plan: ${o.rounds} round(s) × ${levels.join('/')} connections × direct+gateway, ${o.durationS} s each; scratch dir ${dir}`);
  if (loadBefore !== undefined && loadBefore > 0.5) log(`note: 1-minute load average is ${loadBefore.toFixed(2)} before starting; other work will add noise`);

  const mock = await startService('mock upstream', loadCore, process.execPath, [MOCK_JS], /^\{"port":\d+\}$/, join(dir, 'mock.log'));
  const mockUrl = `http://127.0.0.1:${(JSON.parse(mock.readyLine) as { port: number }).port}`;
  // Calibration: a second mock on the gateway's core. Direct requests to it cross cores like the
  // gateway path does (which crosses four times per request; same-core direct requests never do).
  // A second virtual key routes the gateway to it: client on core 1, gateway and upstream on core 0
  // against the direct client-core-1 → upstream-core-0 baseline, the same crossings on both sides.
  const xcore = o.crossCore && gwCore !== undefined
    ? await startService('mock upstream (core 0)', gwCore, process.execPath, [MOCK_JS], /^\{"port":\d+\}$/, join(dir, 'mock-xcore.log'))
    : undefined;
  const xcoreUrl = xcore ? `http://127.0.0.1:${(JSON.parse(xcore.readyLine) as { port: number }).port}` : undefined;
  const configPath = join(dir, 'gateway.json');
  writeFileSync(configPath, gatewayConfig(mockUrl, xcoreUrl));
  const gwLog = join(dir, 'gateway.log');
  const gw = await startGatewayProcess('gateway', gwCore, o.nodeFlags, configPath, gwLog, []);
  const rss = new RssSampler(gw.svc.pid);
  log(`mock upstream ${mockUrl} (pid ${mock.pid}); gateway ${gw.url} (pid ${gw.svc.pid}), access log → ${gwLog}`);

  await checkRelay(mockUrl, gw.url);
  log('relay check ok: the gateway returns the mock\'s JSON and SSE bytes unchanged, and rejects a wrong key');

  const spec = (url: string, connections: number, durationS: number, headers: Record<string, string> = HEADERS) => ({ url: url + CHAT_PATH, connections, durationS, body: CHAT_BODY, headers });
  log(`warm-up: ${o.warmupS} s gateway + ${o.warmupS} s direct at ${Math.max(...levels)} connections`);
  await load.run(spec(gw.url, Math.max(...levels), o.warmupS));
  await load.run(spec(mockUrl, Math.max(...levels), o.warmupS));

  /** One measured window; gateway windows also record the gateway's CPU time. */
  const measure = async (cell: Cell, url: string, pid: number | undefined, label: string, headers: Record<string, string> = HEADERS): Promise<LoadResult> => {
    const cpu0 = pid === undefined ? undefined : cpuSeconds(pid);
    const cores0 = coreTimes();
    const r = await load.run(spec(url, cell.connections, o.durationS, headers));
    const cpu1 = pid === undefined ? undefined : cpuSeconds(pid);
    const busy = coreBusy(cores0, coreTimes());
    cell.runs.push(r);
    if (busy) cell.coreBusy.push(busy);
    let cpuNote = '';
    if (cpu0 !== undefined && cpu1 !== undefined) {
      cell.cpuS = (cell.cpuS ?? 0) + (cpu1 - cpu0);
      cpuNote = `, core-0 process CPU ${(((cpu1 - cpu0) * 1e6) / r.requests).toFixed(0)} µs/req`;
    }
    log(`  ${label.padEnd(26)} ${fmtInt(r.rps).padStart(7)} req/s  p50 ${r.p50Ms.toFixed(3)} ms  p99 ${r.p99Ms.toFixed(3)} ms${cpuNote}${r.errors ? `  ERRORS ${r.errors}` : ''}`);
    return r;
  };

  const cells = new Map<string, Cell>();
  const cell = (target: Cell['target'], connections: number): Cell => {
    const k = `${target}/${connections}`;
    let c = cells.get(k);
    if (!c) cells.set(k, (c = { target, connections, runs: [], coreBusy: [] }));
    return c;
  };
  let n = 0;
  const total = o.rounds * (cellsPerRound + (xcoreUrl !== undefined && levels.includes(1) ? 2 : 0));
  for (let round = 0; round < o.rounds; round++) {
    for (const c of levels) {
      // Alternate which side goes first so slow drift in machine load hits both equally.
      const order: Array<'direct' | 'gateway'> = round % 2 === 0 ? ['direct', 'gateway'] : ['gateway', 'direct'];
      for (const target of order) {
        n++;
        const label = `[${n}/${total}] c=${c} ${target}`;
        await measure(cell(target, c), target === 'direct' ? mockUrl : gw.url, target === 'gateway' ? gw.svc.pid : undefined, label);
      }
      if (xcoreUrl !== undefined && c === 1) {
        n++;
        // Its CPU per request shows what an idle core costs to wake (compare the mock on the load core).
        await measure(cell('direct-xcore', c), xcoreUrl, xcore?.pid, `[${n}/${total}] c=1 direct, upstream core 0`);
        n++;
        await measure(cell('gateway-xcore', c), gw.url, gw.svc.pid, `[${n}/${total}] c=1 gateway, upstream core 0`, CORE0_HEADERS);
      }
    }
  }

  log(`SSE time to first byte: ${o.ttfbSamples} samples per side, interleaved in blocks of 100`);
  const directTtfb: number[] = [];
  const gatewayTtfb: number[] = [];
  const xcoreTtfb: number[] = [];
  const ds = createTtfbSampler(mockUrl + CHAT_PATH, STREAM_BODY, HEADERS);
  const gs = createTtfbSampler(gw.url + CHAT_PATH, STREAM_BODY, HEADERS);
  const xs = xcoreUrl === undefined ? undefined : createTtfbSampler(xcoreUrl + CHAT_PATH, STREAM_BODY, HEADERS);
  try {
    await ds.sample(100);
    await gs.sample(100);
    await xs?.sample(100);
    for (let i = 0; i < o.ttfbSamples; i += 100) {
      const k = Math.min(100, o.ttfbSamples - i);
      directTtfb.push(...(await ds.sample(k)));
      gatewayTtfb.push(...(await gs.sample(k)));
      if (xs) xcoreTtfb.push(...(await xs.sample(k)));
      if ((i / 100) % 5 === 4) log(`  ${i + k}/${o.ttfbSamples} samples per side`);
    }
  } finally {
    ds.close();
    gs.close();
    xs?.close();
  }
  const ttfb = {
    direct: summarizeTtfb(directTtfb),
    gateway: summarizeTtfb(gatewayTtfb),
    ...(xs ? { directXcore: summarizeTtfb(xcoreTtfb) } : {}),
  };
  log(`  direct p50 ${ttfb.direct.p50Ms.toFixed(3)} ms, gateway p50 ${ttfb.gateway.p50Ms.toFixed(3)} ms` +
    `${ttfb.directXcore ? `, direct to the core-0 upstream p50 ${ttfb.directXcore.p50Ms.toFixed(3)} ms` : ''}`);

  const peakRss = vmBytes(gw.svc.pid, 'VmHWM');
  const peakAnon = rss.stop();
  const gwRequests = [...cells.values()].filter((c) => c.target === 'gateway').reduce((a, c) => a + c.runs.reduce((b, r) => b + r.requests, 0), 0);
  await gw.svc.stop();
  const logBytesPerRequest = gwRequests > 0 ? statSync(gwLog).size / gwRequests : undefined;

  let jsonCell: Cell | undefined;
  let peakRssJson: number | undefined;
  const jsonConns = Math.max(...levels);
  if (o.jsonLogs) {
    await xcore?.stop();
    const jgw = await startGatewayProcess('gateway --json-logs', gwCore, o.nodeFlags, configPath, join(dir, 'gateway-json.log'), ['--json-logs']);
    log(`gateway --json-logs (pid ${jgw.svc.pid}): warm-up ${o.warmupS} s, then ${o.rounds} window(s) at ${jsonConns} connections`);
    await load.run(spec(jgw.url, jsonConns, o.warmupS));
    jsonCell = { target: 'gateway-json', connections: jsonConns, runs: [], coreBusy: [] };
    for (let round = 0; round < o.rounds; round++) await measure(jsonCell, jgw.url, jgw.svc.pid, `c=${jsonConns} gateway --json-logs`);
    peakRssJson = vmBytes(jgw.svc.pid, 'VmHWM');
    await jgw.svc.stop();
  }
  // The same gateway with V8's own memory settings (DITTO_GATEWAY_MEMORY=default) instead of the CLI's
  // lean profile (src/runtime/memory.ts): what the profile costs in CPU and saves in memory.
  let v8DefaultCell: Cell | undefined;
  let peakRssV8Default: number | undefined;
  if (o.memoryDefault) {
    await xcore?.stop();
    const mgw = await startGatewayProcess('gateway (V8 default memory)', gwCore, o.nodeFlags, configPath, join(dir, 'gateway-v8-default.log'), [], { DITTO_GATEWAY_MEMORY: 'default' });
    log(`gateway with DITTO_GATEWAY_MEMORY=default (pid ${mgw.svc.pid}): warm-up ${o.warmupS} s, then ${o.rounds} window(s) at ${jsonConns} connections`);
    await load.run(spec(mgw.url, jsonConns, o.warmupS));
    v8DefaultCell = { target: 'gateway-v8-default', connections: jsonConns, runs: [], coreBusy: [] };
    for (let round = 0; round < o.rounds; round++) await measure(v8DefaultCell, mgw.url, mgw.svc.pid, `c=${jsonConns} gateway, V8 default memory`);
    peakRssV8Default = vmBytes(mgw.svc.pid, 'VmHWM');
    await mgw.svc.stop();
  }
  let obs: ObservabilityRun | undefined;
  if (o.observability) {
    await xcore?.stop();
    obs = await measureObservability({
      connections: jsonConns,
      rounds: o.rounds,
      warmupS: o.warmupS,
      startGateway: (name, logFile, extra) => startGatewayProcess(name, gwCore, o.nodeFlags, configPath, logFile, extra),
      warmup: (url, c, sec) => load.run(spec(url, c, sec)),
      measure: (c, url, pid, label) => measure(c, url, pid, label),
      logPath: (name) => join(dir, name),
      log,
    });
  }
  let guardrails: GuardrailsRun | undefined;
  if (o.guardrails) {
    await xcore?.stop();
    const grConfig = join(dir, 'gateway-guardrails.json');
    writeFileSync(grConfig, guardrailsConfig(mockUrl));
    const ggw = await startGatewayProcess('gateway (guardrails)', gwCore, o.nodeFlags, grConfig, join(dir, 'gateway-guardrails.log'), []);
    guardrails = await measureGuardrails({
      load, connections: jsonConns, rounds: o.rounds, durationS: o.durationS, warmupS: o.warmupS, gatewayUrl: ggw.url, gatewayPid: ggw.svc.pid, log,
    });
    await ggw.svc.stop();
  }
  let translation: TranslationRun | undefined;
  if (o.translation) {
    await xcore?.stop();
    log(`translation: CPU per translated chunk, then ${o.ttfbSamples} SSE first-byte samples per side (passthrough vs anthropic)`);
    translation = await measureTranslation({ iterations: o.quick ? 300 : 3000, samples: o.ttfbSamples, log });
  }
  await mock.stop();
  await xcore?.stop();

  const results: BenchResults = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    machine: machineSummary(),
    node: process.version,
    generator: generatorName === 'wrk'
      ? 'wrk (1 thread, µs latency histogram)'
      : `autocannon 8 CLI for 16+ connections (latency in whole ms); ${load.clientFor(1)} (µs timing) for 1 connection`,
    pinning,
    nodeFlags: o.nodeFlags.join(' '),
    loadAvgBefore: loadBefore,
    loadAvgAfter: loadAverage(),
    durationS: o.durationS,
    rounds: o.rounds,
    quick: o.quick,
    note: o.note,
    levels: levels.map((c) => ({ connections: c, direct: summarize(cell('direct', c)), gateway: summarize(cell('gateway', c)) })),
    directXcore: cells.has('direct-xcore/1') ? summarize(cell('direct-xcore', 1)) : undefined,
    gatewayXcore: cells.has('gateway-xcore/1') ? summarize(cell('gateway-xcore', 1)) : undefined,
    jsonLogs: jsonCell ? summarize(jsonCell) : undefined,
    jsonLogsConnections: jsonConns,
    v8Default: v8DefaultCell ? summarize(v8DefaultCell) : undefined,
    peakRssV8DefaultBytes: peakRssV8Default,
    observability: obs ? { connections: jsonConns, off: summarize(obs.off), on: summarize(obs.on), spans: obs.spans } : undefined,
    guardrails: guardrails ? { connections: guardrails.connections, none: summarize(guardrails.none), all: summarize(guardrails.all) } : undefined,
    ttfb,
    translation,
    peakRssBytes: peakRss,
    peakRssJsonBytes: peakRssJson,
    peakAnonBytes: peakAnon.peakAnonBytes,
    fileRssBytes: peakAnon.fileBytes,
    logBytesPerRequest,
    wallS: (performance.now() - started) / 1000,
  };
  process.stdout.write(`\n${consoleTable(results)}\n\n`);
  const errors = results.levels.reduce((a, l) => a + l.direct.errors + l.gateway.errors, 0) + (results.jsonLogs?.errors ?? 0) +
    (results.observability ? results.observability.off.errors + results.observability.on.errors : 0) +
    (results.guardrails ? results.guardrails.none.errors + results.guardrails.all.errors : 0);
  if (errors > 0) process.stdout.write(`WARNING: ${errors} failed requests (non-2xx or socket errors): see the errors column\n`);
  if (o.write) {
    let notes: string | undefined;
    let governance: string | undefined;
    if (existsSync(o.out)) {
      const prev = readFileSync(o.out, 'utf8');
      notes = between(prev, NOTES_START, NOTES_END);
      governance = between(prev, GOVERNANCE_START, GOVERNANCE_END);
    }
    writeFileSync(o.out, markdown(results, notes, governance));
    log(`wrote ${o.out}`);
  } else {
    log(`not writing ${o.out}${o.quick ? ' (--quick; add --write to force)' : ''}`);
  }
  rmSync(dir, { recursive: true, force: true });
  if (errors > 0) process.exitCode = 1;
}

process.on('SIGINT', () => {
  void stopAll().then(() => process.exit(130));
});

main().catch(async (err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  await stopAll();
  process.exit(1);
});
