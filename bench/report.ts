/**
 * Aggregation, the console table, target checks and docs/BENCHMARKS.md. Pure functions over the
 * measurements the runner collected.
 */
import type { LoadResult } from './load.js';
import { percentile } from './ttfb.js';
import type { TranslationRun } from './translation-micro.js';

/** All runs of one (target, connections) cell across rounds. */
export interface Cell {
  target: 'direct' | 'direct-xcore' | 'gateway-xcore' | 'gateway-v8-default' | 'gateway' | 'gateway-json' | 'gateway-obs-off' | 'gateway-obs-on' | 'gateway-guardrails-none' | 'gateway-guardrails-all';
  connections: number;
  runs: LoadResult[];
  /** Gateway CPU seconds over the measured windows (undefined for direct). */
  cpuS?: number;
  /** Per-core busy fraction for each run. */
  coreBusy: number[][];
}

export interface CellSummary {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  /** (max − min) / mean of per-round req/s: the noise between rounds. */
  spread: number;
  cpuUsPerReq?: number;
  /** Gateway CPU seconds per wall second: ~1.0 means its core was the bottleneck. */
  gatewayCore?: number;
  /** Mean busy fraction per core over the runs. */
  coreBusy: number[];
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

export function summarize(cell: Cell): CellSummary {
  const requests = cell.runs.reduce((a, r) => a + r.requests, 0);
  const seconds = cell.runs.reduce((a, r) => a + r.durationS, 0);
  const rpsEach = cell.runs.map((r) => r.rps);
  const rps = requests / seconds;
  const cores = cell.coreBusy[0]?.length ?? 0;
  const s: CellSummary = {
    rps,
    p50Ms: mean(cell.runs.map((r) => r.p50Ms)),
    p99Ms: mean(cell.runs.map((r) => r.p99Ms)),
    requests,
    errors: cell.runs.reduce((a, r) => a + r.errors, 0),
    spread: (Math.max(...rpsEach) - Math.min(...rpsEach)) / rps,
    coreBusy: Array.from({ length: cores }, (_, i) => mean(cell.coreBusy.map((b) => b[i] ?? 0))),
  };
  if (cell.cpuS !== undefined) {
    s.cpuUsPerReq = (cell.cpuS * 1e6) / requests;
    s.gatewayCore = cell.cpuS / seconds;
  }
  return s;
}

export interface TtfbSummary {
  samples: number;
  p50Ms: number;
  p99Ms: number;
}

export function summarizeTtfb(samples: readonly number[]): TtfbSummary {
  return { samples: samples.length, p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99) };
}

/** Everything one run measured. */
export interface BenchResults {
  date: string;
  machine: string;
  node: string;
  generator: string;
  pinning: string;
  /** Extra node flags the gateway ran with ('' = none, the default). */
  nodeFlags: string;
  loadAvgBefore: number | undefined;
  loadAvgAfter: number | undefined;
  durationS: number;
  rounds: number;
  quick: boolean;
  note: string | undefined;
  levels: Array<{ connections: number; direct: CellSummary; gateway: CellSummary }>;
  /** Calibration: 1 connection, direct to a second upstream on the gateway's core. */
  directXcore: CellSummary | undefined;
  /** 1 connection through the gateway to that upstream (gateway and upstream on core 0, client on core 1). */
  gatewayXcore?: CellSummary | undefined;
  jsonLogs: CellSummary | undefined;
  jsonLogsConnections: number;
  /** The gateway with `DITTO_GATEWAY_MEMORY=default` (V8's own heap settings), at `jsonLogsConnections`. */
  v8Default?: CellSummary | undefined;
  peakRssV8DefaultBytes?: number | undefined;
  /** The same gateway with observability off vs `--json-logs --prometheus-metrics --otel`, alternating windows. */
  observability?: { connections: number; off: CellSummary; on: CellSummary; spans: number } | undefined;
  /** One gateway, a 2 KB prompt: a key without guardrails vs a key with every guardrail on, alternating windows. */
  guardrails?: { connections: number; none: CellSummary; all: CellSummary } | undefined;
  ttfb: { direct: TtfbSummary; gateway: TtfbSummary; directXcore?: TtfbSummary } | undefined;
  /** Translation (`bench/translation-micro.ts`): CPU per translated chunk, TTFB passthrough vs anthropic translation. */
  translation?: TranslationRun | undefined;
  peakRssBytes: number | undefined;
  peakRssJsonBytes: number | undefined;
  /** Peak anonymous RSS of the default gateway, sampled every 200 ms. */
  peakAnonBytes: number | undefined;
  /** File-backed RSS of the default gateway at the end (mostly the node binary). */
  fileRssBytes: number | undefined;
  logBytesPerRequest: number | undefined;
  wallS: number;
}

/** The issue's targets. */
export const TARGETS = {
  rps64: 8_000,
  cpuUsPerReq: 150,
  addedP50Ms: 0.2,
  addedTtfbP50Ms: 0.5,
  peakRssMiB: 100,
  /** Metrics + JSON logs + tracing together: throughput cost and added CPU per request. */
  obsThroughputCost: 0.15,
  obsCpuUs: 30,
  /** Every guardrail on (20 phrases, 5 regexes, PII, model lists, schema), 2 KB prompt: throughput cost. */
  guardrailsThroughputCost: 0.1,
  /** Streaming through a translation backend vs passthrough (issue 4). */
  translationAddedTtftP50Ms: 1,
  translationCpuUsPerChunk: 20,
} as const;

export interface TargetCheck {
  name: string;
  target: string;
  measured: string;
  pass: boolean | undefined;
}

export function checkTargets(r: BenchResults): TargetCheck[] {
  const at64 = r.levels.find((l) => l.connections === 64);
  const at1 = r.levels.find((l) => l.connections === 1);
  const rss = r.peakRssBytes === undefined ? undefined : r.peakRssBytes / 2 ** 20;
  const addedP50 = at1 ? at1.gateway.p50Ms - at1.direct.p50Ms : undefined;
  const addedP50Like = r.gatewayXcore && r.directXcore ? r.gatewayXcore.p50Ms - r.directXcore.p50Ms : undefined;
  const addedTtfb = r.ttfb ? r.ttfb.gateway.p50Ms - r.ttfb.direct.p50Ms : undefined;
  const cpu = at64?.gateway.cpuUsPerReq;
  const na = (v: number | undefined, f: (x: number) => string): string => (v === undefined ? 'not measured' : f(v));
  return [
    { name: 'throughput at 64 connections (gateway on one core)', target: `≥ ${fmtInt(TARGETS.rps64)} req/s`, measured: na(at64?.gateway.rps, (v) => `${fmtInt(v)} req/s`), pass: at64 ? at64.gateway.rps >= TARGETS.rps64 : undefined },
    { name: 'gateway CPU per request (64 connections)', target: `≤ ${TARGETS.cpuUsPerReq} µs`, measured: na(cpu, (v) => `${v.toFixed(0)} µs`), pass: cpu === undefined ? undefined : cpu <= TARGETS.cpuUsPerReq },
    { name: 'added p50 latency at 1 connection (vs the same-core direct call)', target: `≤ ${TARGETS.addedP50Ms} ms`, measured: na(addedP50, (v) => `${v.toFixed(3)} ms`), pass: addedP50 === undefined ? undefined : addedP50 <= TARGETS.addedP50Ms },
    ...(addedP50Like === undefined ? [] : [{
      name: 'added p50 latency at 1 connection, like for like (upstream on the gateway\'s core, both sides crossing cores)', target: `≤ ${TARGETS.addedP50Ms} ms`,
      measured: `${addedP50Like.toFixed(3)} ms`, pass: addedP50Like <= TARGETS.addedP50Ms,
    }]),
    { name: 'added p50 time to first byte (SSE)', target: `≤ ${TARGETS.addedTtfbP50Ms} ms`, measured: na(addedTtfb, (v) => `${v.toFixed(3)} ms`), pass: addedTtfb === undefined ? undefined : addedTtfb <= TARGETS.addedTtfbP50Ms },
    ...observabilityTargets(r, na),
    ...guardrailsTargets(r),
    ...translationTargets(r),
    { name: 'peak RSS (VmHWM, whole run)', target: `≤ ${TARGETS.peakRssMiB} MiB`, measured: na(rss, (v) => `${v.toFixed(1)} MiB`), pass: rss === undefined ? undefined : rss <= TARGETS.peakRssMiB },
  ];
}

function observabilityTargets(r: BenchResults, na: (v: number | undefined, f: (x: number) => string) => string): TargetCheck[] {
  const o = r.observability;
  if (!o) return [];
  const cost = 1 - o.on.rps / o.off.rps;
  const cpu = o.on.cpuUsPerReq !== undefined && o.off.cpuUsPerReq !== undefined ? o.on.cpuUsPerReq - o.off.cpuUsPerReq : undefined;
  return [
    { name: `metrics + JSON logs + tracing: throughput cost (${o.connections} connections)`, target: `≤ ${pct(TARGETS.obsThroughputCost)}`, measured: pct(cost), pass: cost <= TARGETS.obsThroughputCost },
    { name: 'metrics + JSON logs + tracing: added CPU per request', target: `≤ ${TARGETS.obsCpuUs} µs`, measured: na(cpu, (v) => `${v.toFixed(1)} µs`), pass: cpu === undefined ? undefined : cpu <= TARGETS.obsCpuUs },
  ];
}

function translationTargets(r: BenchResults): TargetCheck[] {
  const t = r.translation;
  if (!t) return [];
  const added = t.ttfb.translation.p50Ms - t.ttfb.passthrough.p50Ms;
  const cpu = Math.max(...t.cpu.map((c) => c.usPerChunk));
  return [
    { name: 'translation (anthropic) vs passthrough: added p50 time to first byte', target: `≤ ${TARGETS.translationAddedTtftP50Ms} ms`, measured: `${added.toFixed(3)} ms`, pass: added <= TARGETS.translationAddedTtftP50Ms },
    { name: 'translation: CPU per translated chunk (worst case measured)', target: `≤ ${TARGETS.translationCpuUsPerChunk} µs`, measured: `${cpu.toFixed(1)} µs`, pass: cpu <= TARGETS.translationCpuUsPerChunk },
  ];
}

function guardrailsTargets(r: BenchResults): TargetCheck[] {
  const g = r.guardrails;
  if (!g) return [];
  const cost = 1 - g.all.rps / g.none.rps;
  return [{ name: `every guardrail, 2 KB prompt: throughput cost (${g.connections} connections)`, target: `≤ ${pct(TARGETS.guardrailsThroughputCost)}`, measured: pct(cost), pass: cost <= TARGETS.guardrailsThroughputCost }];
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

const ms = (v: number): string => v.toFixed(3);
const pct = (v: number): string => `${(v * 100).toFixed(0)}%`;
const signed = (v: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(3)}`;

/** Rows of the main table: one per (connections, target). */
function mainRows(r: BenchResults): string[][] {
  const rows: string[][] = [];
  for (const l of r.levels) {
    rows.push([String(l.connections), 'direct', fmtInt(l.direct.rps), ms(l.direct.p50Ms), ms(l.direct.p99Ms), '', '', '', '', pct(l.direct.spread), String(l.direct.errors)]);
    const x = r.directXcore;
    if (l.connections === 1 && x) {
      rows.push([
        '1', 'direct, upstream core 0', fmtInt(x.rps), ms(x.p50Ms), ms(x.p99Ms), `${(x.rps / l.direct.rps).toFixed(2)}×`, signed(x.p50Ms - l.direct.p50Ms),
        x.cpuUsPerReq === undefined ? '' : `(mock) ${x.cpuUsPerReq.toFixed(0)}`, '', pct(x.spread), String(x.errors),
      ]);
      const gx = r.gatewayXcore;
      if (gx) {
        rows.push([
          '1', 'gateway, upstream core 0', fmtInt(gx.rps), ms(gx.p50Ms), ms(gx.p99Ms), `${(gx.rps / x.rps).toFixed(2)}× that`, signed(gx.p50Ms - x.p50Ms),
          gx.cpuUsPerReq === undefined ? 'n/a' : gx.cpuUsPerReq.toFixed(0), gx.gatewayCore === undefined ? 'n/a' : pct(gx.gatewayCore), pct(gx.spread), String(gx.errors),
        ]);
      }
    }
    rows.push([
      String(l.connections), 'gateway', fmtInt(l.gateway.rps), ms(l.gateway.p50Ms), ms(l.gateway.p99Ms),
      `${(l.gateway.rps / l.direct.rps).toFixed(2)}×`,
      signed(l.gateway.p50Ms - l.direct.p50Ms),
      l.gateway.cpuUsPerReq === undefined ? 'n/a' : l.gateway.cpuUsPerReq.toFixed(0),
      l.gateway.gatewayCore === undefined ? 'n/a' : pct(l.gateway.gatewayCore),
      pct(l.gateway.spread), String(l.gateway.errors),
    ]);
  }
  if (r.jsonLogs) {
    const j = r.jsonLogs;
    const d = r.levels.find((l) => l.connections === r.jsonLogsConnections);
    rows.push([
      String(r.jsonLogsConnections), 'gateway --json-logs', fmtInt(j.rps), ms(j.p50Ms), ms(j.p99Ms),
      d ? `${(j.rps / d.direct.rps).toFixed(2)}×` : '', d ? signed(j.p50Ms - d.direct.p50Ms) : '',
      j.cpuUsPerReq === undefined ? 'n/a' : j.cpuUsPerReq.toFixed(0),
      j.gatewayCore === undefined ? 'n/a' : pct(j.gatewayCore), pct(j.spread), String(j.errors),
    ]);
  }
  const v = r.v8Default;
  if (v) {
    const base = r.levels.find((l) => l.connections === r.jsonLogsConnections)?.gateway;
    rows.push([
      String(r.jsonLogsConnections), 'gateway, V8 default memory', fmtInt(v.rps), ms(v.p50Ms), ms(v.p99Ms),
      base ? `${(base.rps / v.rps).toFixed(2)}× (lean ÷ this)` : '', '',
      v.cpuUsPerReq === undefined ? 'n/a' : v.cpuUsPerReq.toFixed(0),
      v.gatewayCore === undefined ? 'n/a' : pct(v.gatewayCore), pct(v.spread), String(v.errors),
    ]);
  }
  const o = r.observability;
  if (o) {
    for (const [label, x] of [['gateway, observability off', o.off], ['gateway, metrics+logs+tracing', o.on]] as const) {
      rows.push([
        String(o.connections), label, fmtInt(x.rps), ms(x.p50Ms), ms(x.p99Ms),
        x === o.on ? `${(o.on.rps / o.off.rps).toFixed(2)}× off` : '', x === o.on ? signed(o.on.p50Ms - o.off.p50Ms) : '',
        x.cpuUsPerReq === undefined ? 'n/a' : x.cpuUsPerReq.toFixed(0),
        x.gatewayCore === undefined ? 'n/a' : pct(x.gatewayCore), pct(x.spread), String(x.errors),
      ]);
    }
  }
  const g = r.guardrails;
  if (g) {
    for (const [label, x] of [['gateway, 2 KB prompt, no guardrails', g.none], ['gateway, 2 KB prompt, every guardrail', g.all]] as const) {
      rows.push([
        String(g.connections), label, fmtInt(x.rps), ms(x.p50Ms), ms(x.p99Ms),
        x === g.all ? `${(g.all.rps / g.none.rps).toFixed(2)}× none` : '', x === g.all ? signed(g.all.p50Ms - g.none.p50Ms) : '',
        x.cpuUsPerReq === undefined ? 'n/a' : x.cpuUsPerReq.toFixed(0),
        x.gatewayCore === undefined ? 'n/a' : pct(x.gatewayCore), pct(x.spread), String(x.errors),
      ]);
    }
  }
  return rows;
}

const MAIN_HEADER = ['conns', 'target', 'req/s', 'p50 ms', 'p99 ms', 'vs direct', 'added p50 ms', 'gw CPU µs/req', 'gw core busy', 'round spread', 'errors'];

/** A fixed-width table for the terminal. */
export function consoleTable(r: BenchResults): string {
  const rows = [MAIN_HEADER, ...mainRows(r)];
  const widths = MAIN_HEADER.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]): string => row.map((c, i) => (i < 2 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  const out = [line(rows[0] as string[]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
  if (r.ttfb) {
    const { direct: d, gateway: g, directXcore: x } = r.ttfb;
    out.push('', `SSE time to first byte (${d.samples} samples each, 1 connection): ` +
      `direct p50 ${ms(d.p50Ms)} p99 ${ms(d.p99Ms)} ms; gateway p50 ${ms(g.p50Ms)} p99 ${ms(g.p99Ms)} ms; ` +
      `added p50 ${signed(g.p50Ms - d.p50Ms)} p99 ${signed(g.p99Ms - d.p99Ms)} ms` +
      `${x ? `; direct to the core-0 upstream p50 ${ms(x.p50Ms)} ms (gateway added vs that: ${signed(g.p50Ms - x.p50Ms)} ms)` : ''}`);
  }
  if (r.translation) {
    const { passthrough: a, translation: b } = r.translation.ttfb;
    out.push('', `translation: TTFB passthrough p50 ${ms(a.p50Ms)} ms, anthropic translation p50 ${ms(b.p50Ms)} ms (added ${signed(b.p50Ms - a.p50Ms)} ms); ` +
      r.translation.cpu.map((c) => `${c.name} ${c.usPerChunk.toFixed(2)} µs/chunk`).join('; '));
  }
  out.push(`peak RSS (VmHWM): gateway ${mib(r.peakRssBytes)}${r.peakRssJsonBytes !== undefined ? `, gateway --json-logs ${mib(r.peakRssJsonBytes)}` : ''}` +
    `${r.peakRssV8DefaultBytes !== undefined ? `, gateway with V8 default memory ${mib(r.peakRssV8DefaultBytes)}` : ''}` +
    `; gateway peak anonymous RSS ${mib(r.peakAnonBytes)}, file-backed ${mib(r.fileRssBytes)} (the node binary's pages)`);
  out.push('', 'targets:');
  for (const t of checkTargets(r)) out.push(`  ${passMark(t.pass)}  ${t.name}: ${t.measured} (target ${t.target})`);
  return out.join('\n');
}

function mib(b: number | undefined): string {
  return b === undefined ? 'n/a' : `${(b / 2 ** 20).toFixed(1)} MiB`;
}

function passMark(p: boolean | undefined): string {
  return p === undefined ? 'n/a ' : p ? 'PASS' : 'FAIL';
}

/** A Markdown table; the first `leftCols` columns are left-aligned, the rest (numbers) right-aligned. */
function mdTable(header: string[], rows: string[][], leftCols = 2): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i < leftCols ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

export const NOTES_START = '<!-- notes:start (kept by `npm run bench`; edit freely) -->';
export const NOTES_END = '<!-- notes:end -->';
/** The governance benchmark's generated section (bench/governance.ts rewrites it; the proxy benchmark keeps it). */
export const GOVERNANCE_START = '<!-- governance:start (written by `node dist/bench/governance.js`) -->';
export const GOVERNANCE_END = '<!-- governance:end -->';

/** The text between two markers in `doc`, or undefined. */
export function between(doc: string, start: string, end: string): string | undefined {
  const a = doc.indexOf(start);
  const b = doc.indexOf(end);
  return a >= 0 && b > a ? doc.slice(a + start.length, b) : undefined;
}

/**
 * docs/BENCHMARKS.md. `notes` is the hand-written section carried over from the previous file, `governance`
 * the governance benchmark's last generated section (it runs after this one and rewrites it).
 */
export function markdown(r: BenchResults, notes: string | undefined, governance?: string): string {
  const targets = checkTargets(r);
  const at64 = r.levels.find((l) => l.connections === 64);
  const corePct = (s: CellSummary | undefined): string => (s && s.coreBusy.length > 0 ? s.coreBusy.map((b, i) => `core ${i} ${pct(b)}`).join(', ') : 'n/a');
  const load = (v: number | undefined): string => (v === undefined ? 'n/a' : v.toFixed(2));
  const lines = [
    '# Benchmarks',
    '',
    'Generated by `npm run bench` (`node dist/bench/run.js`). Rerun it to refresh every number below; the',
    '"Notes" section at the end is hand-written and kept across runs.',
    '',
    '## Run',
    '',
    `- date: ${r.date}${r.quick ? ' (**--quick smoke run**: short windows, not for comparison)' : ''}`,
    `- machine: ${r.machine}`,
    `- Node: ${r.node}`,
    `- load generator: ${r.generator}`,
    `- pinning: ${r.pinning}`,
    `- gateway node flags: ${r.nodeFlags === '' ? 'none (plain `node bin/ditto-gateway.js`)' : '`' + r.nodeFlags + '`'}`,
    `- windows: ${r.rounds} round(s) × ${r.durationS} s per cell, direct and gateway interleaved (order alternates per round); whole run ${r.wallS.toFixed(0)} s`,
    `- 1-minute load average: ${load(r.loadAvgBefore)} before, ${load(r.loadAvgAfter)} after` +
      ' (anything well above the ~1 this benchmark adds means other work shared the cores)',
    ...(r.note ? [`- note: ${r.note}`] : []),
    '',
    '## Results',
    '',
    'POST /v1/chat/completions with a ~1 KB JSON body and `Authorization: Bearer <virtual key>`; the mock',
    'upstream answers a fixed chat.completion JSON. Latencies are the load generator\'s, in milliseconds.',
    '',
    mdTable(MAIN_HEADER, mainRows(r)),
    '',
    '- **vs direct**: gateway req/s ÷ direct req/s at the same connection count, measured in the same run.',
    '- **gw CPU µs/req**: gateway process CPU (user + system, all threads, from `/proc/<pid>/stat`) over the',
    '  measured windows ÷ requests completed in them. The 64-connection figure is the one the target uses;',
    '  at 1 connection the core idles between requests and every wake-up is expensive on this VM (see the',
    '  calibration row).',
    '- **gw core busy**: gateway CPU seconds per wall second. Near 100% means the gateway\'s core was the',
    '  bottleneck. Well below while core 0 itself was ~100% busy (next line) means other processes took the',
    '  gateway\'s core; well below with core 0 idle means the load generator and mock (core 1) were the limit.',
    '- **round spread**: (max − min) ÷ mean of the per-round req/s: how noisy the machine was.',
    `- per-core busy at 64 connections: direct ${corePct(at64?.direct)}; gateway ${corePct(at64?.gateway)}.`,
    ...(r.directXcore ? [
      '- **direct, upstream core 0** (calibration): the same 1-connection load sent straight to a second mock',
      '  pinned to the gateway\'s core. Same-core direct requests never cross cores, while every gateway request',
      '  crosses four times (client → gateway → upstream → gateway → client); on a VM each crossing wakes an idle',
      '  vCPU, so this row shows what two crossings cost by themselves. Its CPU column is the do-nothing mock\'s',
      '  CPU per request when it is woken on an idle core: compare it with the ~15-20 µs the same mock uses',
      '  when it shares the busy load core. The gateway pays the same wake-up price, twice per request.',
    ] : []),
    ...(r.gatewayXcore ? [
      '- **gateway, upstream core 0** (like for like): the same 1-connection load through the gateway, routed by a',
      '  second virtual key to that core-0 upstream. Client on core 1, gateway and upstream on core 0: the request',
      '  crosses cores twice, exactly as the direct call to that upstream does, so "added p50" on this row (against',
      '  the calibration row) is the time the gateway itself adds. A real deployment has client, gateway and',
      '  provider on different hosts; the same-core direct row above has no crossing at all.',
    ] : []),
    ...(r.guardrails ? [
      '- **2 KB prompt, no guardrails / every guardrail**: one gateway with two virtual keys, the same ~2 KB',
      '  chat request (which passes every check), alternating windows. The guarded key has model allow and',
      '  deny lists, `max_input_tokens`, `validate_schema`, 20 banned phrases, 5 banned regexes and `block_pii`',
      '  (`bench/guardrails.ts`, also runnable alone: `node dist/bench/guardrails.js`).',
    ] : []),
    '',
  ];
  if (r.ttfb) {
    const { direct: d, gateway: g } = r.ttfb;
    lines.push(
      '### Streaming time to first byte',
      '',
      'One keep-alive connection, one `"stream": true` request at a time; time from sending the request to the',
      'first body chunk of the SSE response (the mock sends its first event together with the headers).',
      '',
      mdTable(['target', 'samples', 'p50 ms', 'p99 ms'], [
        ['direct', String(d.samples), ms(d.p50Ms), ms(d.p99Ms)],
        ['gateway', String(g.samples), ms(g.p50Ms), ms(g.p99Ms)],
        ['added (gateway − direct)', '', signed(g.p50Ms - d.p50Ms), signed(g.p99Ms - d.p99Ms)],
        ...(r.ttfb.directXcore ? [
          ['direct, upstream core 0 (calibration)', String(r.ttfb.directXcore.samples), ms(r.ttfb.directXcore.p50Ms), ms(r.ttfb.directXcore.p99Ms)],
        ] : []),
      ], 1),
      '',
    );
  }
  if (r.translation) {
    const { passthrough: a, translation: b } = r.translation.ttfb;
    lines.push(
      '### Translation backends',
      '',
      '`bench/translation-micro.ts`: one in-process gateway (main thread) with a passthrough backend and an',
      '`anthropic` translation backend; the upstreams and the client run in a worker thread. Each upstream sends',
      'its opening SSE events at once and the rest 2 ms later. Time to first byte, interleaved blocks of 100:',
      '',
      mdTable(['target', 'samples', 'p50 ms', 'p99 ms'], [
        ['passthrough (OpenAI SSE upstream)', String(a.samples), ms(a.p50Ms), ms(a.p99Ms)],
        ['translation (Anthropic SSE upstream → OpenAI)', String(b.samples), ms(b.p50Ms), ms(b.p99Ms)],
        ['added (translation − passthrough)', '', signed(b.p50Ms - a.p50Ms), signed(b.p99Ms - a.p99Ms)],
      ], 1),
      '',
      'CPU per translated chunk (one SSE event per upstream read; user + system CPU of the whole loop):',
      '',
      mdTable(['path', 'chunks', 'µs CPU/chunk'], r.translation.cpu.map((c) => [c.name, String(c.chunks), c.usPerChunk.toFixed(2)]), 1),
      '',
    );
  }
  lines.push(
    '### Memory and logging',
    '',
    `- peak RSS (VmHWM over the whole run): gateway ${mib(r.peakRssBytes)}` +
      `${r.peakRssJsonBytes !== undefined ? `; the separate \`--json-logs\` gateway ${mib(r.peakRssJsonBytes)}` : ''}` +
      `${r.peakRssV8DefaultBytes !== undefined ? `; the gateway with \`DITTO_GATEWAY_MEMORY=default\` (V8's own heap settings instead of the CLI's lean profile, README "Memory") ${mib(r.peakRssV8DefaultBytes)}` : ''}.`,
    `- of which: peak anonymous RSS (V8 heap, malloc, stacks; sampled every 200 ms) ${mib(r.peakAnonBytes)}, and` +
      ` file-backed RSS ${mib(r.fileRssBytes)}, almost all of it the node executable's own code pages (shared, clean).`,
    `- the default (human) access log: one line per request on stderr, written to a file during the run` +
      `${r.logBytesPerRequest !== undefined ? ` (${r.logBytesPerRequest.toFixed(0)} bytes per request)` : ''}.` +
      `${r.jsonLogs ? ` The \`gateway --json-logs\` row is a second gateway started with \`--json-logs\`, measured after the main rounds.` : ''}`,
    '',
    '## Targets',
    '',
    mdTable(['target', 'goal', 'measured', 'result'], targets.map((t) => [t.name, t.target, t.measured, passMark(t.pass)]), 4),
    '',
    'For scale: Portkey\'s gateway measured on this kind of machine does ~1,100 req/s at ~900 µs CPU per',
    'request, with ~27 ms added time to first byte.',
    '',
    '## How it is measured',
    '',
    '- `bench/mock-upstream.ts`: a minimal `node:http` upstream in its own process, answering precomputed',
    '  buffers (chat.completion JSON with OpenAI-like headers, or an SSE stream when the body has `"stream":true`).',
    '- The real CLI, `node bin/ditto-gateway.js <generated config> --listen 127.0.0.1:0`, with one virtual key',
    '  and one passthrough backend pointing at the mock; its stderr (the access log) goes to a file.',
    '- Cores: the gateway runs alone on core 0 (`taskset -c 0`); the mock, the load generator and the runner',
    '  share core 1. Direct rows send the same requests straight to the mock.',
    '- Before measuring, the runner checks that the gateway relays the mock\'s JSON and SSE bytes unchanged,',
    '  then warms both paths up. Non-2xx answers and socket errors are counted in **errors**.',
    '- The wrk generator reports latency percentiles in microseconds. autocannon (the fallback when `wrk` is',
    '  not installed) records whole milliseconds, so with it the 1-connection windows use a sequential',
    '  node:http client in the runner (same core), timed in microseconds.',
    '',
    '## Reproduce',
    '',
    '```sh',
    'apt-get install -y wrk     # optional; without it the bench uses autocannon (a devDependency)',
    'npm ci',
    'npm run bench             # ~3 min plus the build; writes docs/BENCHMARKS.md',
    'npm run bench -- --quick  # ~30 s smoke run; prints only (add --write to update this file)',
    'node dist/bench/run.js --help',
    '```',
    '',
    'Run it on a quiet machine: other processes on either core show up as a lower gateway req/s and a',
    'larger round spread. Compare ratios against the direct rows of the same run, not absolute numbers',
    'across machines.',
    '',
    '## Governance',
    '',
    GOVERNANCE_START,
    governance?.trim() ?? 'Not measured yet: `node dist/bench/governance.js` (run by `npm run bench` after the proxy benchmark) fills this in.',
    GOVERNANCE_END,
    '',
    '## Notes',
    '',
    NOTES_START,
    notes?.trim() ?? '',
    NOTES_END,
    '',
  );
  return lines.join('\n');
}
