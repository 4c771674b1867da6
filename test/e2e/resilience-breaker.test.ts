import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CliOptions } from '../../src/cli/args.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { chatCompletion, sendJson } from '../helpers/upstream.js';
import { chat, closedPort, eventFor, KEY, sleep, startFleet, type Fleet } from './routing-support.js';

// Circuit breaker (CONTRACT §4.5): opens after N consecutive counted failures, skips the backend
// without calling it for the cooldown, then tries it again (success closes, failure re-opens).

const TINY = 1e-12;

let fleet: Fleet;
let deadUrl: string;

before(async () => {
  fleet = await startFleet();
  deadUrl = `http://127.0.0.1:${await closedPort()}/v1`;
});

after(async () => {
  await fleet?.close();
});

/** A gateway routing every model to `[primary, backup]`, the backup practically never first. */
async function pair(primary: Record<string, unknown>, backup: string, options: Partial<CliOptions>): Promise<TestGateway> {
  return startTestGateway({
    backends: [primary, fleet.backend(backup)],
    virtual_keys: [KEY],
    router: { default_backends: [{ backend: primary['name'] as string, weight: 1 }, { backend: backup, weight: TINY }] },
  }, { circuitBreaker: true, ...options });
}

/** Which backends a request attempted, from its access log event. */
async function attempted(gw: TestGateway, id: string): Promise<unknown> {
  return (await eventFor(gw, 'proxy.response', id)).payload['attempted_backends'];
}

test('opens after N consecutive failures, skips without calling, recovers after the cooldown', async () => {
  let failing = true;
  fleet.behave('flaky', (_q, res) => {
    if (failing) sendJson(res, 500, { error: { message: 'flaky is down' } });
    else sendJson(res, 200, chatCompletion('flaky is back'));
  });
  const gw = await pair(fleet.backend('flaky'), 'backup1', { cbFailureThreshold: 2, cbCooldownSecs: 1, fallbackStatusCodes: [500] });
  const hits = (): number => fleet.hits('flaky').length;
  try {
    let r = await chat(gw, 'm', { 'x-request-id': 'cb-1' });
    assert.equal(r.headers.get('x-ditto-backend'), 'backup1');
    r = await chat(gw, 'm', { 'x-request-id': 'cb-2' });
    assert.equal(r.headers.get('x-ditto-backend'), 'backup1');
    assert.equal(hits(), 2);
    // Open: flaky is filtered out before any attempt, so even a POST without x-request-id reaches the backup.
    for (const h of [{ 'x-request-id': 'cb-3' }, {}]) {
      r = await chat(gw, 'm', h);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-ditto-backend'), 'backup1');
    }
    assert.equal(hits(), 2, 'an open breaker does not call the backend');
    assert.deepEqual(await attempted(gw, 'cb-3'), ['backup1']);

    // After the cooldown the backend is tried again; one failure re-opens it at once.
    await sleep(1200);
    r = await chat(gw, 'm', { 'x-request-id': 'cb-4' });
    assert.equal(r.headers.get('x-ditto-backend'), 'backup1');
    assert.equal(hits(), 3);
    r = await chat(gw, 'm', { 'x-request-id': 'cb-5' });
    assert.equal(hits(), 3, 're-opened after a single failure');

    // After the next cooldown a success closes it...
    await sleep(1200);
    failing = false;
    r = await chat(gw, 'm', { 'x-request-id': 'cb-6' });
    assert.equal(r.headers.get('x-ditto-backend'), 'flaky');
    r = await chat(gw, 'm', { 'x-request-id': 'cb-7' });
    assert.equal(r.headers.get('x-ditto-backend'), 'flaky');
    assert.equal(hits(), 5);
    // ...and resets the count: it takes `threshold` fresh failures to open again.
    failing = true;
    await chat(gw, 'm', { 'x-request-id': 'cb-8' });
    await chat(gw, 'm', { 'x-request-id': 'cb-9' });
    assert.equal(hits(), 7);
    await chat(gw, 'm', { 'x-request-id': 'cb-10' });
    assert.equal(hits(), 7);
  } finally {
    await gw.close();
  }
});

test('--proxy-cb-no-server-errors: 5xx responses do not open the breaker', async () => {
  fleet.behave('always500', (_q, res) => sendJson(res, 500, { error: { message: 'nope' } }));
  const gw = await pair(fleet.backend('always500'), 'backup2', { cbFailureThreshold: 1, cbServerErrors: false, fallbackStatusCodes: [500] });
  try {
    for (let i = 0; i < 3; i++) {
      const r = await chat(gw, 'm', { 'x-request-id': `nose-${i}` });
      assert.equal(r.headers.get('x-ditto-backend'), 'backup2');
    }
    assert.equal(fleet.hits('always500').length, 3);
  } finally {
    await gw.close();
  }
  // The same backend with server errors counted opens after one failure.
  const counted = await pair(fleet.backend('always500'), 'backup2', { cbFailureThreshold: 1, fallbackStatusCodes: [500] });
  try {
    for (let i = 0; i < 3; i++) await chat(counted, 'm', { 'x-request-id': `se-${i}` });
    assert.equal(fleet.hits('always500').length, 4);
  } finally {
    await counted.close();
  }
});

test('network errors count unless --proxy-cb-no-network-errors', async () => {
  const dead = { name: 'deadcb', base_url: deadUrl };
  const counted = await pair(dead, 'backup3', { cbFailureThreshold: 1 });
  try {
    for (const id of ['net-1', 'net-2', 'net-3']) {
      const r = await chat(counted, 'm', { 'x-request-id': id });
      assert.equal(r.headers.get('x-ditto-backend'), 'backup3');
    }
    assert.deepEqual(await attempted(counted, 'net-1'), ['deadcb', 'backup3']);
    assert.deepEqual(await attempted(counted, 'net-2'), ['backup3']);
    assert.deepEqual(await attempted(counted, 'net-3'), ['backup3']);
  } finally {
    await counted.close();
  }
  const ignored = await pair(dead, 'backup3', { cbFailureThreshold: 1, cbNetworkErrors: false });
  try {
    for (const id of ['nonet-1', 'nonet-2']) {
      await chat(ignored, 'm', { 'x-request-id': id });
      assert.deepEqual(await attempted(ignored, id), ['deadcb', 'backup3']);
    }
  } finally {
    await ignored.close();
  }
});

test('timeouts count unless --proxy-cb-no-timeout-errors', async () => {
  fleet.behave('stallcb', () => undefined);
  const stalled = fleet.backend('stallcb', { timeout_seconds: 1 });
  const ignored = await pair(stalled, 'backup4', { cbFailureThreshold: 1, cbTimeoutErrors: false });
  try {
    for (const id of ['noto-1', 'noto-2']) {
      const r = await chat(ignored, 'm', { 'x-request-id': id });
      assert.equal(r.headers.get('x-ditto-backend'), 'backup4');
    }
    assert.equal(fleet.hits('stallcb').length, 2);
  } finally {
    await ignored.close();
  }
  const counted = await pair(stalled, 'backup4', { cbFailureThreshold: 1 });
  try {
    for (const id of ['to-1', 'to-2', 'to-3']) await chat(counted, 'm', { 'x-request-id': id });
    assert.equal(fleet.hits('stallcb').length, 3);
  } finally {
    await counted.close();
  }
});

test('--proxy-cb-failure-status-codes counts extra statuses (even when the response is relayed)', async () => {
  fleet.behave('limited', (_q, res) => sendJson(res, 429, { error: { message: 'rate limited' } }));
  // Without the flag a 429 is not a breaker failure.
  const plain = await pair(fleet.backend('limited'), 'backup5', { cbFailureThreshold: 1 });
  try {
    for (let i = 0; i < 2; i++) {
      const r = await chat(plain, 'm');
      assert.equal(r.status, 429);
      assert.equal(r.headers.get('x-ditto-backend'), 'limited');
    }
  } finally {
    await plain.close();
  }
  const withCodes = await pair(fleet.backend('limited'), 'backup5', { cbFailureThreshold: 1, cbFailureStatusCodes: [429] });
  try {
    const first = await chat(withCodes, 'm');
    assert.equal(first.status, 429, 'no fallback codes: the 429 itself is relayed');
    const second = await chat(withCodes, 'm');
    assert.equal(second.status, 200);
    assert.equal(second.headers.get('x-ditto-backend'), 'backup5');
    assert.equal(fleet.hits('limited').length, 3);
  } finally {
    await withCodes.close();
  }
});
