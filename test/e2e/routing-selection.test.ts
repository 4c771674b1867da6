import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { orderCandidates } from '../../src/routing/router.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { sendJson } from '../helpers/upstream.js';
import { chat, KEY, startFleet, TOKEN, type Fleet } from './routing-support.js';

// Routing (CONTRACT §2.4, §4.4): rule precedence, weighted primary, fallback order, key pins.

const WEIGHTED = [{ backend: 'w1', weight: 3 }, { backend: 'w2', weight: 1 }, { backend: 'w0', weight: 0 }, { backend: 'w3', weight: 2 }];
const FAILING = [{ backend: 'f1', weight: 1 }, { backend: 'f2', weight: 2 }, { backend: 'f3', weight: 1 }];

let fleet: Fleet;
let gw: TestGateway;
let noDefault: TestGateway;

before(async () => {
  fleet = await startFleet();
  const names = ['prefix', 'prefix2', 'exact', 'claude', 'list', 'single', 'dflt', 'pinned', 'w0', 'w1', 'w2', 'w3', 'f1', 'f2', 'f3'];
  for (const n of ['f1', 'f2', 'f3']) fleet.behave(n, (_q, res) => sendJson(res, 503, { error: { message: `${n} overloaded` } }));
  gw = await startTestGateway({
    backends: names.map((n) => fleet.backend(n)),
    virtual_keys: [KEY, { id: 'pin', token: 'sk-test-pinned', route: 'pinned' }],
    router: {
      default_backends: [{ backend: 'dflt', weight: 1 }],
      rules: [
        { model_prefix: 'gpt-4', backend: 'prefix' },
        { model_prefix: 'gpt-4o', exact: true, backend: 'exact' },
        { model_prefix: 'gpt', backend: 'prefix2' },
        { model_prefix: 'claude*', backend: 'claude' },
        { model_prefix: 'both', backend: 'single', backends: [{ backend: 'list', weight: 1 }] },
        { model_prefix: 'weighted', exact: true, backends: WEIGHTED },
        { model_prefix: 'failing', exact: true, backends: FAILING },
      ],
    },
  }, { fallbackStatusCodes: [503] });
  noDefault = await startTestGateway({
    backends: [fleet.backend('only')],
    virtual_keys: [KEY],
    router: { rules: [{ model_prefix: 'known', backend: 'only' }] },
  });
});

after(async () => {
  await gw?.close();
  await noDefault?.close();
  await fleet?.close();
});

test('an exact rule beats an earlier prefix rule; the first matching prefix rule wins; then default_backends', async () => {
  const cases: Array<[string, string]> = [
    ['gpt-4o', 'exact'], // exact rule listed after a matching prefix rule still wins
    ['gpt-4o-mini', 'prefix'], // `gpt-4` comes before `gpt` in config order
    ['gpt-3.5-turbo', 'prefix2'],
    ['claude-3-haiku', 'claude'], // one trailing `*` is stripped from model_prefix
    ['both-x', 'list'], // non-empty backends[] beats backend
    ['llama-3', 'dflt'],
    ['GPT-4', 'dflt'], // matching is case-sensitive
  ];
  for (const [model, backend] of cases) {
    const r = await chat(gw, model);
    assert.equal(r.status, 200, `${model}: ${r.text}`);
    assert.equal(r.headers.get('x-ditto-backend'), backend, model);
    const seen = fleet.hits(backend).at(-1);
    assert.ok(seen, `${backend} saw the request for ${model}`);
    assert.equal((JSON.parse(seen.body.toString()) as { model: string }).model, model);
  }
});

test('weighted candidates: the primary is the FNV-1a pick seeded by x-request-id (§4.4)', async () => {
  const primaries = new Set<string>();
  // FNV-1a barely moves the top bits when only the last byte changes, so the seeds vary up front.
  for (let i = 0; i < 40; i++) {
    const id = `${i}-weighted-req`;
    const expected = orderCandidates(WEIGHTED, id);
    assert.deepEqual(expected.slice(1), WEIGHTED.map((c) => c.backend).filter((b) => b !== 'w0' && b !== expected[0]));
    const r = await chat(gw, 'weighted', { 'x-request-id': id });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-ditto-backend'), expected[0], id);
    assert.equal(r.headers.get('x-request-id'), id);
    assert.equal(r.headers.get('x-ditto-request-id'), id);
    primaries.add(expected[0] as string);
  }
  // The seeds exercise every positive-weight backend; the zero-weight one is never chosen.
  assert.deepEqual([...primaries].sort(), ['w1', 'w2', 'w3']);
  assert.equal(fleet.hits('w0').length, 0);
});

test('fallback order is the primary, then the rest in config order; the final status failure is relayed', async () => {
  for (const id of ['a-order', 'b-order', 'c-order', 'd-order', 'e-order', 'f-order', 'g-order', 'h-order']) {
    const before = fleet.up.requests.length;
    const r = await chat(gw, 'failing', { 'x-request-id': id });
    const expected = orderCandidates(FAILING, id);
    assert.deepEqual(fleet.order().slice(before), expected, id);
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('x-ditto-backend'), expected.at(-1));
    assert.match(r.text, new RegExp(`${expected.at(-1)} overloaded`));
  }
  const fallbacks = gw.events().filter((e) => e.event === 'proxy.fallback' && e.payload['request_id'] === 'a-order');
  // One event per failed attempt; the last says nothing more will be tried.
  assert.deepEqual(fallbacks.map((e) => [e.payload['backend'], e.payload['failure_kind'], e.payload['will_attempt_next_backend']]),
    orderCandidates(FAILING, 'a-order').map((b, i) => [b, 'status', i < 2]));
});

test('the openai SDK sees the weighted primary in x-ditto-backend', async () => {
  const client = new OpenAI({ apiKey: TOKEN, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  for (const id of ['1-sdk', '2-sdk', '3-sdk', '4-sdk', '5-sdk']) {
    const { data, response } = await client.chat.completions
      .create({ model: 'weighted', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-request-id': id } })
      .withResponse();
    const expected = orderCandidates(WEIGHTED, id)[0];
    assert.equal(response.headers.get('x-ditto-backend'), expected);
    assert.equal(data.choices[0]?.message.content, `hello from ${expected}`);
  }
});

test('a key route pins one backend and skips the rules', async () => {
  for (const model of ['gpt-4o', 'weighted', 'anything']) {
    const before = fleet.up.requests.length;
    const r = await chat(gw, model, { authorization: 'Bearer sk-test-pinned', 'x-request-id': `pin-${model}` });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-ditto-backend'), 'pinned');
    assert.deepEqual(fleet.order().slice(before), ['pinned']);
  }
});

test('nothing matches and no default_backends: 502 backend_not_found without calling a backend', async () => {
  const before = fleet.up.requests.length;
  const r = await chat(noDefault, 'unknown-model');
  assert.equal(r.status, 502);
  assert.equal(r.json().error?.code, 'backend_not_found');
  assert.equal(r.json().error?.type, 'api_error');
  assert.equal(r.headers.get('x-ditto-backend'), null);
  assert.equal(fleet.up.requests.length, before);
  const ok = await chat(noDefault, 'known-1');
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('x-ditto-backend'), 'only');
});
