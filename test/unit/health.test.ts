import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { HealthChecker } from '../../src/routing/health.js';
import { createAgent, PassthroughBackend } from '../../src/upstream/passthrough.js';
import { BackendSchema } from '../../src/config/schema.js';
import { sendJson, startUpstream, type MockUpstream } from '../helpers/upstream.js';

// The prober on its own (CONTRACT §4.5): GET base_url + path with backend headers/query; 2xx = healthy.

let up: MockUpstream;
const agent = createAgent();
const statuses: Record<string, number> = {};

before(async () => {
  up = await startUpstream();
  up.handle((req, res) => {
    const name = (req.url ?? '').split('/')[1] ?? '';
    if (name === 'hang') return; // never answers
    sendJson(res, statuses[name] ?? 200, { object: 'list', data: [] });
  });
});

after(async () => {
  await agent.close();
  await up?.close();
});

function backend(name: string, extra: Record<string, unknown> = {}): PassthroughBackend {
  return new PassthroughBackend(BackendSchema.parse({ name, base_url: `${up.url}/${name}/v1`, ...extra }), agent);
}

test('probeAll: 2xx is healthy, anything else unhealthy with the status as the last error', async () => {
  statuses['good'] = 204;
  statuses['bad'] = 503;
  const hc = new HealthChecker([backend('good'), backend('bad')], agent, { path: '/v1/models', intervalMs: 60_000, timeoutMs: 5000 });
  // Not probed yet: routable, but /ready says the check has not completed.
  assert.equal(hc.isHealthy('good'), true);
  assert.equal(hc.isHealthy('bad'), true);
  assert.equal(hc.state('bad')?.completed, false);
  assert.deepEqual(hc.readyChecks(), [
    { name: 'backend.good', status: 'error', detail: 'backend health check has not completed yet' },
    { name: 'backend.bad', status: 'error', detail: 'backend health check has not completed yet' },
  ]);
  await hc.probeAll();
  assert.equal(hc.isHealthy('good'), true);
  assert.equal(hc.isHealthy('bad'), false);
  assert.equal(hc.state('bad')?.lastError, 'status 503');
  assert.ok((hc.state('good')?.lastTsMs ?? 0) > 0);
  assert.deepEqual(hc.readyChecks(), [
    { name: 'backend.good', status: 'ok' },
    { name: 'backend.bad', status: 'error', detail: 'status 503' },
  ]);
  // Recovery clears the error.
  statuses['bad'] = 200;
  await hc.probeAll();
  assert.equal(hc.isHealthy('bad'), true);
  assert.equal(hc.state('bad')?.lastError, undefined);
  assert.equal(hc.isHealthy('unknown-backend'), true);
});

test('the probe carries backend headers and query params, and does not repeat /v1', async () => {
  const hc = new HealthChecker([backend('hdr', { headers: { Authorization: 'Bearer upstream-key' }, query_params: { 'api-version': ' 7 ' } })], agent, {
    path: '/v1/models', intervalMs: 60_000, timeoutMs: 5000,
  });
  await hc.probeAll();
  const seen = up.requests.filter((r) => r.url.startsWith('/hdr/')).at(-1);
  assert.equal(seen?.method, 'GET');
  assert.equal(seen?.url, '/hdr/v1/models?api-version=7');
  assert.equal(seen?.headers['authorization'], 'Bearer upstream-key');
  // A custom path is appended to base_url the same way.
  const custom = new HealthChecker([backend('hdr')], agent, { path: '/health', intervalMs: 60_000, timeoutMs: 5000 });
  await custom.probeAll();
  assert.equal(up.requests.filter((r) => r.url.startsWith('/hdr/')).at(-1)?.url, '/hdr/v1/health');
});

test('a probe that does not answer in time is unhealthy ("probe timed out")', async () => {
  const hc = new HealthChecker([backend('hang')], agent, { path: '/v1/models', intervalMs: 60_000, timeoutMs: 300 });
  await hc.probeAll();
  assert.equal(hc.isHealthy('hang'), false);
  assert.equal(hc.state('hang')?.lastError, 'probe timed out');
});

test('an unreachable backend is unhealthy; overlapping probeAll calls share one run', async () => {
  const dead = new PassthroughBackend(BackendSchema.parse({ name: 'dead', base_url: 'http://127.0.0.1:1/v1' }), agent);
  const hc = new HealthChecker([dead], agent, { path: '/v1/models', intervalMs: 60_000, timeoutMs: 5000 });
  const a = hc.probeAll();
  assert.equal(hc.probeAll(), a);
  await a;
  assert.equal(hc.isHealthy('dead'), false);
  assert.equal(hc.state('dead')?.lastError, 'ECONNREFUSED');
});

test('start() probes at once and then every interval; stop() ends it', async () => {
  statuses['tick'] = 200;
  const hc = new HealthChecker([backend('tick')], agent, { path: '/v1/models', intervalMs: 50, timeoutMs: 5000 });
  const count = (): number => up.requests.filter((r) => r.url.startsWith('/tick/')).length;
  hc.start();
  try {
    const deadline = Date.now() + 10_000;
    while (count() < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(count() >= 3, `probed ${count()} times`);
  } finally {
    hc.stop();
  }
  await hc.probeAll();
  const after = count();
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(count(), after, 'no probes after stop()');
});
