import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { CliOptions } from '../../src/cli/args.js';
import { orderCandidates } from '../../src/routing/router.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { sendJson } from '../helpers/upstream.js';
import { chat, closedPort, eventFor, gate, idForPrimary, KEY, startFleet, until, type Fleet } from './routing-support.js';

// Moving on (CONTRACT §4.5, §4.6): network errors, timeouts, statuses, the safety guard, attempt caps
// and per-backend in-flight caps, against real mock upstreams and a closed port.

/** Weights that make the first backend the primary for (practically) every request id. */
const TINY = 1e-12;

let fleet: Fleet;
let deadUrl: string;

before(async () => {
  fleet = await startFleet();
  deadUrl = `http://127.0.0.1:${await closedPort()}/v1`;
  for (const n of ['s503a', 's503b', 's503c', 'guard503']) fleet.behave(n, (_q, res) => sendJson(res, 503, { error: { message: `${n} says 503` } }, { 'x-upstream': n }));
  fleet.behave('s500', (_q, res) => sendJson(res, 500, { error: { message: 's500 says 500' } }));
  fleet.behave('s429', (_q, res) => sendJson(res, 429, { error: { message: 'slow down' } }));
  // Stalled upstreams never answer; the gateway's timeout_seconds gives up on them.
  for (const n of ['stall', 'stall2', 'guardstall']) fleet.behave(n, () => undefined);
});

after(async () => {
  await fleet?.close();
});

/** A gateway over named candidates (in this order) for model `m`; `dead` is the closed port. */
async function gatewayFor(
  cands: Array<{ backend: string; weight: number }>,
  options: Partial<CliOptions> = {},
  extra: Record<string, Record<string, unknown>> = {},
): Promise<TestGateway> {
  const names = [...new Set(cands.map((c) => c.backend))];
  return startTestGateway({
    backends: names.map((n) => (n === 'dead' || n === 'dead2' ? { name: n, base_url: deadUrl } : fleet.backend(n, extra[n] ?? {}))),
    virtual_keys: [KEY],
    router: { default_backends: cands },
  }, options);
}

async function using(gw: TestGateway, fn: (gw: TestGateway) => Promise<void>): Promise<void> {
  try {
    await fn(gw);
  } finally {
    await gw.close();
  }
}

test('a connect error moves to the next candidate (default action fallback)', async () => {
  const cands = [{ backend: 'dead', weight: 1 }, { backend: 'live1', weight: 1 }];
  await using(await gatewayFor(cands), async (gw) => {
    const id = idForPrimary(cands, 'dead', 'net');
    const r = await chat(gw, 'm', { 'x-request-id': id });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-ditto-backend'), 'live1');
    assert.equal(fleet.hits('live1').length, 1);
    const ev = gw.events().find((e) => e.event === 'proxy.fallback' && e.payload['request_id'] === id);
    assert.ok(ev, 'a proxy.fallback event');
    assert.equal(ev.payload['failure_kind'], 'network');
    assert.equal(ev.payload['backend'], 'dead');
    assert.equal(ev.payload['action'], 'fallback');
    assert.equal(ev.payload['will_attempt_next_backend'], true);
    // GET is a safe method: it moves on without a client x-request-id.
    const g = await chat(gw, 'm', {}, 'GET');
    assert.equal(g.headers.get('x-ditto-backend'), 'live1');
  });
});

test('--proxy-network-error-action none: the first network error is final (502 backend_error)', async () => {
  const cands = [{ backend: 'dead', weight: 1 }, { backend: 'live2', weight: TINY }];
  await using(await gatewayFor(cands, { networkErrorAction: 'none' }), async (gw) => {
    const r = await chat(gw, 'm', { 'x-request-id': idForPrimary(cands, 'dead') });
    assert.equal(r.status, 502);
    assert.equal(r.json().error?.code, 'backend_error');
    assert.equal(r.headers.get('x-ditto-backend'), null);
    assert.equal(fleet.hits('live2').length, 0);
  });
});

test('network errors on every candidate: 502 backend_error after trying each once', async () => {
  const cands = [{ backend: 'dead', weight: 1 }, { backend: 'dead2', weight: 1 }];
  await using(await gatewayFor(cands, { networkErrorAction: 'retry' }), async (gw) => {
    const r = await chat(gw, 'm', { 'x-request-id': 'all-dead' });
    assert.equal(r.status, 502);
    assert.equal(r.json().error?.code, 'backend_error');
    assert.equal(r.headers.get('x-ditto-backend'), null);
    const done = await eventFor(gw, 'proxy.error', 'all-dead');
    assert.deepEqual(done.payload['attempted_backends'], orderCandidates(cands, 'all-dead'));
    // With a client x-request-id the guard is not involved: two retry events, the last one final.
    const routing = gw.events().filter((e) => e.event.startsWith('proxy.') && e.payload['request_id'] === 'all-dead' && 'failure_kind' in e.payload);
    assert.deepEqual(routing.map((e) => [e.event, e.payload['action'], e.payload['will_attempt_next_backend']]), [
      ['proxy.retry', 'retry', true],
      ['proxy.retry', 'retry', false],
    ]);
  });
});

test('a timeout (backend timeout_seconds) moves on; when it is the last candidate: 504 backend_timeout', async () => {
  const cands = [{ backend: 'stall', weight: 1 }, { backend: 'live3', weight: 1 }];
  await using(await gatewayFor(cands, {}, { stall: { timeout_seconds: 1 } }), async (gw) => {
    const id = idForPrimary(cands, 'stall', 'to');
    const t0 = Date.now();
    const r = await chat(gw, 'm', { 'x-request-id': id });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-ditto-backend'), 'live3');
    assert.ok(Date.now() - t0 >= 900, 'waited for the 1 s timeout');
    const ev = gw.events().find((e) => e.event === 'proxy.fallback' && e.payload['request_id'] === id);
    assert.equal(ev?.payload['failure_kind'], 'timeout');
  });
  const last = [{ backend: 'stall', weight: 1 }, { backend: 'stall2', weight: 1 }];
  await using(await gatewayFor(last, {}, { stall: { timeout_seconds: 1 }, stall2: { timeout_seconds: 1 } }), async (gw) => {
    const before = fleet.hits('stall').length + fleet.hits('stall2').length;
    const r = await chat(gw, 'm', { 'x-request-id': 'both-stall' });
    assert.equal(r.status, 504);
    assert.equal(r.json().error?.code, 'backend_timeout');
    assert.equal(r.headers.get('x-ditto-backend'), null);
    assert.equal(fleet.hits('stall').length + fleet.hits('stall2').length - before, 2);
  });
});

test('--proxy-timeout-error-action none: the first timeout is final (504)', async () => {
  const cands = [{ backend: 'stall', weight: 1 }, { backend: 'live4', weight: TINY }];
  await using(await gatewayFor(cands, { timeoutErrorAction: 'none' }, { stall: { timeout_seconds: 1 } }), async (gw) => {
    const r = await chat(gw, 'm', { 'x-request-id': idForPrimary(cands, 'stall') });
    assert.equal(r.status, 504);
    assert.equal(r.json().error?.code, 'backend_timeout');
    assert.equal(fleet.hits('live4').length, 0);
  });
});

test('statuses are relayed as is unless retry or fallback codes say otherwise', async () => {
  const cands = [{ backend: 's503a', weight: 1 }, { backend: 'live5', weight: TINY }];
  const id = idForPrimary(cands, 's503a', 'st');
  await using(await gatewayFor(cands), async (gw) => {
    const r = await chat(gw, 'm', { 'x-request-id': id });
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('x-ditto-backend'), 's503a');
    assert.equal(r.headers.get('x-upstream'), 's503a');
    assert.match(r.text, /s503a says 503/);
    assert.equal(fleet.hits('live5').length, 0);
  });
  await using(await gatewayFor(cands, { retry: true, retryStatusCodes: [503] }), async (gw) => {
    const r = await chat(gw, 'm', { 'x-request-id': id });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-ditto-backend'), 'live5');
    const ev = gw.events().find((e) => e.event === 'proxy.retry' && e.payload['request_id'] === id);
    assert.equal(ev?.payload['failure_kind'], 'status');
  });
  await using(await gatewayFor(cands, { fallbackStatusCodes: [503] }), async (gw) => {
    const r = await chat(gw, 'm', { 'x-request-id': id });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-ditto-backend'), 'live5');
  });
  // A status in neither list is relayed, even with retry on.
  const c500 = [{ backend: 's500', weight: 1 }, { backend: 'live5', weight: TINY }];
  await using(await gatewayFor(c500, { retry: true, retryStatusCodes: [503], fallbackStatusCodes: [502] }), async (gw) => {
    const before = fleet.hits('live5').length;
    const r = await chat(gw, 'm', { 'x-request-id': idForPrimary(c500, 's500') });
    assert.equal(r.status, 500);
    assert.equal(r.headers.get('x-ditto-backend'), 's500');
    assert.equal(fleet.hits('live5').length, before);
  });
  // retry_status_codes only count with --proxy-retry on.
  const c429 = [{ backend: 's429', weight: 1 }, { backend: 'live5', weight: TINY }];
  await using(await gatewayFor(c429, { retry: false }), async (gw) => {
    const r = await chat(gw, 'm', { 'x-request-id': idForPrimary(c429, 's429') });
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('x-ditto-backend'), 's429');
  });
  await using(await gatewayFor(c429, { retry: true }), async (gw) => {
    const r = await chat(gw, 'm', { 'x-request-id': idForPrimary(c429, 's429') });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-ditto-backend'), 'live5');
  });
});

test('never the same backend twice; the final candidate\'s status failure is relayed', async () => {
  const cands = [{ backend: 's503a', weight: 1 }, { backend: 's503a', weight: 1 }, { backend: 's503b', weight: 1 }];
  await using(await gatewayFor(cands, { retry: true }), async (gw) => {
    const a0 = fleet.hits('s503a').length;
    const b0 = fleet.hits('s503b').length;
    const r = await chat(gw, 'm', { 'x-request-id': idForPrimary(cands, 's503a', 'twice') });
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('x-ditto-backend'), 's503b');
    assert.match(r.text, /s503b says 503/);
    assert.equal(fleet.hits('s503a').length - a0, 1);
    assert.equal(fleet.hits('s503b').length - b0, 1);
  });
});

test('--proxy-retry-max-attempts caps the backends tried', async () => {
  const cands = [{ backend: 's503a', weight: 1 }, { backend: 's503b', weight: TINY }, { backend: 's503c', weight: TINY }];
  const id = idForPrimary(cands, 's503a', 'cap');
  for (const [max, expected] of [[2, ['s503a', 's503b']], [1, ['s503a']], [0, ['s503a', 's503b', 's503c']], [9, ['s503a', 's503b', 's503c']]] as const) {
    await using(await gatewayFor(cands, { retry: true, retryMaxAttempts: max }), async (gw) => {
      const before = fleet.up.requests.length;
      const r = await chat(gw, 'm', { 'x-request-id': id });
      assert.deepEqual(fleet.order().slice(before), expected, `max ${max}`);
      assert.equal(r.status, 503);
      assert.equal(r.headers.get('x-ditto-backend'), expected.at(-1));
    });
  }
});

test('safety guard: a POST without x-request-id never moves on; with one it does', async () => {
  const opts: Partial<CliOptions> = { fallbackStatusCodes: [503], retry: true };
  const net = [{ backend: 'dead', weight: 1 }, { backend: 'live6', weight: TINY }];
  await using(await gatewayFor(net, opts), async (gw) => {
    const r = await chat(gw, 'm');
    assert.equal(r.status, 502);
    assert.equal(r.json().error?.code, 'backend_error');
    assert.equal(r.headers.get('x-ditto-backend'), null);
    assert.equal(fleet.hits('live6').length, 0);
    const id = r.headers.get('x-request-id') ?? '';
    assert.match(id, /^ditto-\d+-\d+$/);
    const ev = gw.events().find((e) => e.event === 'proxy.request_safety_guard' && e.payload['request_id'] === id);
    assert.ok(ev, 'a proxy.request_safety_guard event');
    assert.equal(ev.payload['will_attempt_next_backend'], false);
    assert.equal(ev.payload['failure_kind'], 'network');
    // The same request with a client x-request-id falls back.
    const ok = await chat(gw, 'm', { 'x-request-id': idForPrimary(net, 'dead', 'guard') });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('x-ditto-backend'), 'live6');
  });
  const status = [{ backend: 'guard503', weight: 1 }, { backend: 'live6', weight: TINY }];
  await using(await gatewayFor(status, opts), async (gw) => {
    const before = fleet.hits('live6').length;
    const r = await chat(gw, 'm');
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('x-ditto-backend'), 'guard503');
    assert.equal(fleet.hits('live6').length, before);
    const ev = gw.events().find((e) => e.event === 'proxy.request_safety_guard' && e.payload['request_id'] === r.headers.get('x-request-id'));
    assert.equal(ev?.payload['failure_kind'], 'status');
  });
  const slow = [{ backend: 'guardstall', weight: 1 }, { backend: 'live6', weight: TINY }];
  await using(await gatewayFor(slow, opts, { guardstall: { timeout_seconds: 1 } }), async (gw) => {
    const before = fleet.hits('live6').length;
    const r = await chat(gw, 'm');
    assert.equal(r.status, 504);
    assert.equal(r.json().error?.code, 'backend_timeout');
    assert.equal(r.headers.get('x-ditto-backend'), null);
    assert.equal(fleet.hits('live6').length, before);
  });
});

test('max_in_flight: a capped backend is skipped; all capped → 429 inflight_limit_backend', async () => {
  const holdA = gate();
  const holdB = gate();
  let holdSpare = false;
  fleet.behave('cap1', async (_q, res) => { await holdA.wait(); sendJson(res, 200, { ok: 'cap1' }); });
  fleet.behave('cap2', async (_q, res) => {
    if (holdSpare) await holdB.wait();
    sendJson(res, 200, { ok: 'cap2' });
  });
  const cands = [{ backend: 'cap1', weight: 1 }, { backend: 'cap2', weight: TINY }];
  const gw = await gatewayFor(cands, {}, { cap1: { max_in_flight: 1 }, cap2: { max_in_flight: 1 } });
  try {
    const first = chat(gw, 'm');
    await until(() => fleet.hits('cap1').length === 1, 10_000, 'cap1 to hold a request');
    // cap1 is full: the next request goes straight to cap2 (a skip is not a failure: no x-request-id needed).
    const second = await chat(gw, 'm');
    assert.equal(second.status, 200);
    assert.equal(second.headers.get('x-ditto-backend'), 'cap2');
    assert.equal(fleet.hits('cap1').length, 1);
    holdSpare = true;
    const third = chat(gw, 'm');
    await until(() => fleet.hits('cap2').length === 2, 10_000, 'cap2 to hold a request');
    const before = fleet.up.requests.length;
    const fourth = await chat(gw, 'm');
    assert.equal(fourth.status, 429);
    assert.equal(fourth.json().error?.code, 'inflight_limit_backend');
    assert.equal(fourth.json().error?.type, 'rate_limit_error');
    assert.equal(fourth.headers.get('x-ditto-backend'), null);
    assert.equal(fleet.up.requests.length, before, 'no upstream call for a fully capped request');
    holdA.open();
    holdB.open();
    assert.equal((await first).headers.get('x-ditto-backend'), 'cap1');
    assert.equal((await third).headers.get('x-ditto-backend'), 'cap2');
    // Permits are released once the responses end.
    const fifth = await chat(gw, 'm');
    assert.equal(fifth.headers.get('x-ditto-backend'), 'cap1');
  } finally {
    holdA.open();
    holdB.open();
    await gw.close();
  }
});

test('a client that leaves while the upstream has not answered aborts it; nothing moves on', async () => {
  fleet.behave('stallx', () => undefined);
  const cands = [{ backend: 'stallx', weight: 1 }, { backend: 'live7', weight: TINY }];
  await using(await gatewayFor(cands), async (gw) => {
    const id = idForPrimary(cands, 'stallx', 'leave');
    const req = request(`${gw.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${KEY.token}`, 'content-type': 'application/json', 'x-request-id': id },
    });
    req.on('error', () => undefined);
    req.end(JSON.stringify({ model: 'm', messages: [] }));
    await until(() => fleet.hits('stallx').length === 1, 10_000, 'the upstream to get the request');
    req.destroy();
    await until(() => fleet.hits('stallx')[0]?.aborted === true, 5_000, 'the upstream request to be aborted');
    const ev = await eventFor(gw, 'proxy.response', id);
    assert.equal(ev.payload['outcome'], 'client_aborted');
    assert.deepEqual(ev.payload['attempted_backends'], ['stallx']);
    assert.equal(fleet.hits('live7').length, 0);
  });
});
