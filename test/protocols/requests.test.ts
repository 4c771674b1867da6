// Golden matrix for requests: every fixture (any client protocol) → IR → every upstream protocol.
// Goldens: `<case>.ir.json` and `<case>.to-<protocol>.json` ({value,warnings} or {error:{param,…}} for a rejection).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOLS, type IrRequest, type ProtocolId, type RequestDecodeContext } from '../../src/protocols/index.js';
import { goldenJson, listFixtures, PROTOCOL_IDS, readJson, resultOrRejection } from './golden.js';

interface RequestFixture {
  protocol: ProtocolId;
  context?: RequestDecodeContext;
  body: unknown;
}

const DIR = 'requests/';
const cases = listFixtures(DIR).filter((f) => f.endsWith('.input.json')).map((f) => f.slice(0, -'.input.json'.length));

test('request fixtures exist for every client protocol', () => {
  for (const p of PROTOCOL_IDS) {
    assert.ok(cases.some((c) => (readJson(`${DIR}${c}.input.json`) as RequestFixture).protocol === p), `no ${p} request fixture`);
  }
});

test('no stale request goldens (every golden belongs to an input)', () => {
  for (const f of listFixtures(DIR)) {
    const name = f.replace(/\.(input|ir|to-\w+)\.json$/, '');
    assert.ok(cases.includes(name), `${f} has no ${name}.input.json`);
  }
});

for (const c of cases) {
  test(`request ${c}: client → IR → every upstream matches the goldens`, () => {
    const fx = readJson(`${DIR}${c}.input.json`) as RequestFixture;
    const decoded = resultOrRejection(() => PROTOCOLS[fx.protocol].requestToIr(structuredClone(fx.body), fx.context));
    goldenJson(`${DIR}${c}.ir.json`, decoded);
    if ('error' in decoded) return;
    for (const target of PROTOCOL_IDS) {
      const ir: IrRequest = structuredClone(decoded.value);
      const encoded = resultOrRejection(() => PROTOCOLS[target].requestFromIr(ir, { model: `upstream-${target}` }));
      goldenJson(`${DIR}${c}.to-${target}.json`, encoded);
      assert.deepEqual(ir, decoded.value, 'fromIr must not mutate the IR');
    }
  });
}

function roundTrip(protocol: ProtocolId, body: unknown, ctx?: RequestDecodeContext): { body: unknown; warnings: string[] } {
  const ir: IrRequest = PROTOCOLS[protocol].requestToIr(structuredClone(body), ctx).value;
  const model = (ctx?.model ?? (body as { model: string }).model);
  const out = PROTOCOLS[protocol].requestFromIr(ir, { model });
  return { body: out.value, warnings: out.warnings };
}

test('anthropic → IR → anthropic is lossless: thinking signatures, redacted thinking, cache_control, server tools', () => {
  for (const c of ['anthropic-agent', 'anthropic-server-tools']) {
    const fx = readJson(`${DIR}${c}.input.json`) as RequestFixture;
    const r = roundTrip('anthropic', fx.body);
    assert.deepEqual(r.body, fx.body, c);
    assert.deepEqual(r.warnings, [], c);
  }
});

test('openai → IR → openai keeps every field, unknown ones included', () => {
  const fx = readJson(`${DIR}openai-tools.input.json`) as RequestFixture;
  const r = roundTrip('openai', fx.body);
  const body = fx.body as Record<string, unknown>;
  const out = r.body as Record<string, unknown>;
  const tools = out['tools'] as unknown[];
  assert.deepEqual(tools[0], (body['tools'] as unknown[])[0]);
  // A tool declared without parameters gets the empty object schema every provider accepts.
  assert.deepEqual(tools[1], { type: 'function', function: { name: 'now', parameters: { type: 'object', properties: {} } } });
  assert.deepEqual(out['response_format'], body['response_format']);
  assert.equal(out['max_tokens'], body['max_completion_tokens']);
  const reasoning = readJson(`${DIR}openai-reasoning.input.json`) as RequestFixture;
  const r2 = roundTrip('openai', reasoning.body).body as Record<string, unknown>;
  assert.deepEqual(r2['logit_bias'], { 50256: -100 });
  assert.equal(r2['store'], false);
});

test('gemini snake_case and camelCase request bodies decode to the same IR', () => {
  const fx = readJson(`${DIR}gemini-tools.input.json`) as RequestFixture;
  const camel = JSON.parse(JSON.stringify(fx.body)
    .replace('"system_instruction"', '"systemInstruction"')
    .replace('"inline_data"', '"inlineData"').replace('"mime_type"', '"mimeType"')
    .replace('"function_declarations"', '"functionDeclarations"')) as unknown;
  assert.deepEqual(PROTOCOLS.gemini.requestToIr(camel, fx.context), PROTOCOLS.gemini.requestToIr(fx.body, fx.context));
});
