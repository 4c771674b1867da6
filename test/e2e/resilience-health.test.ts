import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { chatCompletion, sendJson } from '../helpers/upstream.js';
import { chat, gate, idForPrimary, KEY, startFleet, until, type Fleet } from './routing-support.js';

// Active health checks (CONTRACT §4.5) and `/ready` (§3.2). Our `/ready` rule: 503 not_ready only when
// no probed backend is healthy (one sick fallback must not pull every replica out of rotation).

interface Ready {
  status: number;
  body: { status: string; checks?: Array<{ name: string; status: string; detail?: string }> };
}

async function ready(gw: TestGateway): Promise<Ready> {
  const r = await fetch(`${gw.url}/ready`);
  return { status: r.status, body: (await r.json()) as Ready['body'] };
}

let fleet: Fleet;

before(async () => {
  fleet = await startFleet();
});

after(async () => {
  await fleet?.close();
});

test('/ready without health checks: 200 ready, no checks', async () => {
  const gw = await startTestGateway({ backends: [fleet.backend('plain')], virtual_keys: [KEY], router: { default_backends: [{ backend: 'plain' }] } });
  try {
    const r = await ready(gw);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { status: 'ready' });
    assert.equal(fleet.hits('plain').length, 0, 'no probes without --proxy-health-checks');
  } finally {
    await gw.close();
  }
});

test('probes: pending → /ready 503; unhealthy backends are skipped; all unhealthy → unfiltered; recovery', async () => {
  const firstProbe = gate();
  const probeStatus: Record<string, number> = { ha: 503, hb: 200 };
  for (const n of ['ha', 'hb']) {
    fleet.behave(n, async (req, res) => {
      if (req.method === 'GET' && (req.url ?? '').split('?')[0]?.endsWith('/v1/models')) {
        await firstProbe.wait();
        sendJson(res, probeStatus[n] ?? 500, { object: 'list', data: [] });
        return;
      }
      sendJson(res, 200, chatCompletion(`hello from ${n}`));
    });
  }
  const cands = [{ backend: 'ha', weight: 1 }, { backend: 'hb', weight: 1 }];
  const gw = await startTestGateway({
    backends: [
      fleet.backend('ha', { headers: { 'x-probe-secret': 'sesame' }, query_params: { 'api-version': '2024-01' } }),
      fleet.backend('hb'),
    ],
    virtual_keys: [KEY],
    router: { default_backends: cands },
  }, { healthChecks: true, healthCheckIntervalSecs: 1, healthCheckTimeoutSecs: 30 });
  const aFirst = idForPrimary(cands, 'ha', 'hc');
  const chatHits = (n: string): number => fleet.hits(n, '/chat/completions').length;
  try {
    // Before the first probe finishes every check says so, and no backend counts as probed-healthy.
    await until(() => fleet.hits('ha', '/models').length > 0 && fleet.hits('hb', '/models').length > 0, 10_000, 'first probes');
    const pending = await ready(gw);
    assert.equal(pending.status, 503);
    assert.deepEqual(pending.body, {
      status: 'not_ready',
      checks: [
        { name: 'backend.ha', status: 'error', detail: 'backend health check has not completed yet' },
        { name: 'backend.hb', status: 'error', detail: 'backend health check has not completed yet' },
      ],
    });
    // The probe is GET base_url + path with the backend's headers and query params.
    const probe = fleet.hits('ha', '/models')[0];
    assert.equal(probe?.method, 'GET');
    assert.equal(probe?.url, '/ha/v1/models?api-version=2024-01');
    assert.equal(probe?.headers['x-probe-secret'], 'sesame');

    firstProbe.open();
    await until(async () => (await ready(gw)).status === 200, 10_000, '/ready 200');
    const mixed = await ready(gw);
    assert.deepEqual(mixed.body.checks, [
      { name: 'backend.ha', status: 'error', detail: 'status 503' },
      { name: 'backend.hb', status: 'ok' },
    ]);
    assert.equal(mixed.body.status, 'ready');

    // The probe-unhealthy backend is skipped, even as the weighted primary.
    for (const h of [{ 'x-request-id': aFirst }, {}]) {
      const r = await chat(gw, 'm', h);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-ditto-backend'), 'hb');
    }
    assert.equal(chatHits('ha'), 0);

    // Every backend unhealthy: the unfiltered list is used, and /ready reports not_ready.
    probeStatus['hb'] = 500;
    await until(async () => (await ready(gw)).status === 503, 10_000, '/ready 503');
    const down = await ready(gw);
    assert.equal(down.body.status, 'not_ready');
    assert.deepEqual(down.body.checks?.map((c) => c.status), ['error', 'error']);
    const r = await chat(gw, 'm', { 'x-request-id': aFirst });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-ditto-backend'), 'ha');
    assert.equal(chatHits('ha'), 1);

    // A later successful probe brings the backend back.
    probeStatus['ha'] = 200;
    await until(async () => (await ready(gw)).body.checks?.[0]?.status === 'ok', 10_000, 'ha healthy again');
    const back = await chat(gw, 'm', { 'x-request-id': aFirst });
    assert.equal(back.headers.get('x-ditto-backend'), 'ha');
  } finally {
    firstProbe.open();
    await gw.close();
  }
});

test('a probe that times out marks the backend unhealthy', async () => {
  fleet.behave('hslow', (req, res) => {
    if (req.method === 'GET') return; // the probe never gets an answer
    sendJson(res, 200, chatCompletion('slow'));
  });
  const gw = await startTestGateway({
    backends: [fleet.backend('hslow'), fleet.backend('hok')],
    virtual_keys: [KEY],
    router: { default_backends: [{ backend: 'hslow' }, { backend: 'hok', weight: 1e-12 }] },
  }, { healthChecks: true, healthCheckIntervalSecs: 60, healthCheckTimeoutSecs: 1 });
  try {
    await until(async () => (await ready(gw)).body.checks?.every((c) => c.detail !== 'backend health check has not completed yet') ?? false, 10_000, 'probes done');
    const r = await ready(gw);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.checks?.[0], { name: 'backend.hslow', status: 'error', detail: 'probe timed out' });
    const c = await chat(gw, 'm');
    assert.equal(c.headers.get('x-ditto-backend'), 'hok');
  } finally {
    await gw.close();
  }
});
