import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { startTestGateway } from '../helpers/gateway.js';
import { parseExposition, type MetricFamily } from '../observability/prom-parse.js';

// The shipped Grafana dashboard and Prometheus alert rules reference only metrics (and labels) that
// a real scrape of the gateway exposes.

const root = new URL('../../../', import.meta.url);

function collectExprs(node: unknown, out: string[]): string[] {
  if (Array.isArray(node)) for (const x of node) collectExprs(x, out);
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'expr' && typeof v === 'string') out.push(v);
      else collectExprs(v, out);
    }
  }
  return out;
}

const METRIC = /\b((?:ditto_gateway|process|nodejs)_[a-z0-9_]+)\b/g;
const BY = /\bby \(([^)]*)\)/g;

/** The family a referenced sample name belongs to, and its label names. */
function resolve(families: Map<string, MetricFamily>, name: string): { family: MetricFamily; labels: Set<string> } | undefined {
  let family = families.get(name);
  if (family === undefined) {
    const base = name.replace(/_(bucket|sum|count)$/, '');
    const h = families.get(base);
    if (h !== undefined && (h.type === 'histogram' || h.type === 'summary')) family = h;
  }
  if (family === undefined) return undefined;
  const labels = new Set<string>(['instance', 'job']);
  for (const s of family.samples) for (const l of Object.keys(s.labels)) labels.add(l);
  return { family, labels };
}

test('every metric and grouping label in the dashboard and the alert rules exists in a real scrape', async () => {
  const dashboard = JSON.parse(readFileSync(new URL('deploy/grafana/ditto-gateway.dashboard.json', root), 'utf8')) as { panels: Array<{ id: number; type: string; targets?: unknown[] }> };
  const alerts = parseYaml(readFileSync(new URL('deploy/prometheus/alerts.yaml', root), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
  const ids = dashboard.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'unique panel ids');
  const exprs = [...collectExprs(dashboard, []), ...alerts.groups.flatMap((g) => g.rules.map((r) => r.expr))];
  assert.ok(exprs.length >= 20, `dashboard and alerts have queries (${exprs.length})`);
  for (const title of ['DittoGatewayHighErrorRatio', 'DittoGatewayHighLatency', 'DittoGatewayBackendFailing', 'DittoGatewayBudgetExhausted']) {
    assert.ok(alerts.groups.some((g) => g.rules.some((r) => r.alert === title)), title);
  }

  const gw = await startTestGateway({
    backends: [{ name: 'mock', provider: 'mock' }],
    virtual_keys: [
      { id: 'k1', token: 'sk-test-deploy-key-01', budget: { total_tokens: 1_000_000 } },
      { id: 'k2', token: 'sk-test-deploy-key-02', budget: { total_tokens: 1 } },
    ],
    router: { default_backends: [{ backend: 'mock', weight: 1 }] },
  }, { prometheusMetrics: true });
  let families: Map<string, MetricFamily>;
  try {
    for (const stream of [false, true]) {
      const r = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer sk-test-deploy-key-01', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock-gpt', stream, messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(r.status, 200);
      await r.arrayBuffer();
    }
    const refused = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-test-deploy-key-02', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock-gpt', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(refused.status, 402);
    await refused.arrayBuffer();
    const deadline = Date.now() + 10_000;
    while (gw.events().filter((e) => e.event === 'proxy.response' || e.event === 'proxy.error').length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    families = parseExposition(await (await fetch(`${gw.url}/metrics/prometheus`)).text());
  } finally {
    await gw.close();
  }
  const missing: string[] = [];
  for (const expr of exprs) {
    const names = [...expr.matchAll(METRIC)].map((m) => m[1] as string);
    assert.ok(names.length > 0, `query references a metric: ${expr}`);
    const resolved = names.map((n) => [n, resolve(families, n)] as const);
    for (const [n, r] of resolved) if (r === undefined) missing.push(`${n} (in ${expr.trim()})`);
    // Grouping labels must exist on a referenced family (checkable once it has samples).
    if (resolved.every(([, r]) => r === undefined || r.family.samples.length === 0)) continue;
    for (const m of expr.matchAll(BY)) {
      for (const label of (m[1] as string).split(',').map((s) => s.trim()).filter((s) => s !== '' && s !== 'le')) {
        assert.ok(resolved.some(([, r]) => r?.labels.has(label)), `label ${label} exists for ${expr.trim()}`);
      }
    }
  }
  assert.deepEqual(missing, []);
});
