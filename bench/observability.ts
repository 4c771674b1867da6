/**
 * The observability cost scenario of `npm run bench`: the same gateway with everything off (the
 * default human access line) and with `--json-logs --prometheus-metrics --otel` (spans exported to an
 * OTLP/HTTP receiver in the runner, on the load core), measured in alternating windows of one run.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Service } from './children.js';
import type { LoadResult } from './load.js';
import type { Cell } from './report.js';

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
