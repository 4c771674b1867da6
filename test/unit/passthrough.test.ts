import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { errors as undiciErrors } from 'undici';
import { BackendSchema } from '../../src/config/schema.js';
import { classifyError, createAgent, joinPath, PassthroughBackend, upstreamTarget } from '../../src/upstream/passthrough.js';
import { UpstreamFailure, type UpstreamRequest } from '../../src/upstream/types.js';
import { RequestAbort } from '../../src/pipeline/abort.js';
import { chatCompletion, sendJson, startUpstream, type MockUpstream } from '../helpers/upstream.js';

// The passthrough backend (CONTRACT §3.3 upstream URL/headers, §2.2 timeout_seconds) and the one
// place upstream failures are classified (STYLE §3.4 item 5).

let up: MockUpstream;
const agent = createAgent();

before(async () => {
  up = await startUpstream();
  up.handle((req, res) => {
    if ((req.url ?? '').startsWith('/stall/')) return; // never answers
    sendJson(res, 200, chatCompletion('ok'), { 'x-upstream': 'yes' });
  });
});

after(async () => {
  await agent.close();
  await up?.close();
});

function backend(extra: Record<string, unknown>): PassthroughBackend {
  return new PassthroughBackend(BackendSchema.parse({ name: 'b', ...extra }), agent);
}

function req(over: Partial<UpstreamRequest> = {}): UpstreamRequest {
  return {
    method: 'POST', path: '/v1/chat/completions', query: '', headers: { 'content-type': 'application/json' },
    body: Buffer.from('{"model":"m"}'), contentLength: undefined, json: { model: 'm' }, requestId: 'req-1',
    signal: new AbortController().signal, ...over,
  };
}

test('upstream URL: /v1 is not repeated; base path, client query and backend query params are kept', () => {
  const cases: Array<[string, Record<string, string>, string, string, string]> = [
    ['https://api.example.com/v1', {}, '/v1/chat/completions', '', 'https://api.example.com/v1/chat/completions'],
    ['https://api.example.com/v1/', {}, '/v1/models', '?limit=2', 'https://api.example.com/v1/models?limit=2'],
    ['https://api.example.com/openai/v1', {}, '/v1', '', 'https://api.example.com/openai/v1'],
    ['https://api.example.com', {}, '/v1/embeddings', '', 'https://api.example.com/v1/embeddings'],
    ['https://api.example.com/api', {}, '/v1/embeddings', '', 'https://api.example.com/api/v1/embeddings'],
    ['https://x.openai.azure.com/openai/v1', { 'api-version': ' 2024-10 ', ' ': 'dropped' }, '/v1/chat/completions', '?a=1',
      'https://x.openai.azure.com/openai/v1/chat/completions?a=1&api-version=2024-10'],
    ['https://h/v1?key=k', { b: '2' }, '/v1/models', '', 'https://h/v1/models?key=k&b=2'],
  ];
  for (const [base, qp, path, query, expected] of cases) {
    assert.equal(backend({ base_url: base, query_params: qp }).urlFor(path, query), expected, `${base} ${path}`);
  }
  const t = upstreamTarget('http://h:8080/x/v1/', { k: 'v' });
  assert.deepEqual(t, { origin: 'http://h:8080', basePath: '/x/v1', baseEndsV1: true, extraQuery: 'k=v' });
  assert.equal(joinPath('/x/v1', true, '/v1x'), '/x/v1/v1x', 'only a whole /v1 segment is folded');
});

test('classifyError: aborted signal, timeouts, everything else network', () => {
  const live = new AbortController().signal;
  const aborted = AbortSignal.abort();
  assert.equal(classifyError(new Error('x'), aborted).kind, 'aborted');
  assert.equal(classifyError(new undiciErrors.HeadersTimeoutError(), live).kind, 'timeout');
  assert.equal(classifyError(new undiciErrors.BodyTimeoutError(), live).kind, 'timeout');
  assert.equal(classifyError(new undiciErrors.ConnectTimeoutError(), live).kind, 'timeout');
  assert.equal(classifyError(Object.assign(new Error('t'), { code: 'ETIMEDOUT' }), live).kind, 'timeout');
  const refused = classifyError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), live);
  assert.equal(refused.kind, 'network');
  assert.equal(refused.message, 'ECONNREFUSED');
  assert.equal(classifyError(new undiciErrors.SocketError('other side closed'), live).kind, 'network');
  assert.equal(classifyError('weird', live).kind, 'network');
});

test('send(): backend headers override client headers, x-request-id is the request id', async () => {
  const b = backend({ base_url: `${up.url}/h/v1`, headers: { Authorization: 'Bearer upstream', 'X-Team': 'core' } });
  const res = await b.send(req({ headers: { 'x-team': 'client', 'openai-beta': 'assistants=v2', 'content-type': 'application/json' } }));
  assert.equal(res.status, 200);
  assert.equal(res.headers['x-upstream'], 'yes');
  assert.ok(!Buffer.isBuffer(res.body));
  const text = await new Response(Readable.toWeb(res.body as Readable) as ReadableStream).text();
  assert.match(text, /chat\.completion/);
  const seen = up.requests.at(-1);
  assert.equal(seen?.url, '/h/v1/chat/completions');
  assert.equal(seen?.headers['authorization'], 'Bearer upstream');
  assert.equal(seen?.headers['x-team'], 'core');
  assert.equal(seen?.headers['openai-beta'], 'assistants=v2');
  assert.equal(seen?.headers['x-request-id'], 'req-1');
  assert.equal(seen?.body.toString(), '{"model":"m"}');
});

test('send(): a streamed body goes with the client content-length', async () => {
  const b = backend({ base_url: `${up.url}/s/v1` });
  const res = await b.send(req({ body: Readable.from([Buffer.from('abc'), Buffer.from('def')]), contentLength: 6, json: undefined }));
  await new Response(Readable.toWeb(res.body as Readable) as ReadableStream).arrayBuffer();
  const seen = up.requests.at(-1);
  assert.equal(seen?.headers['content-length'], '6');
  assert.equal(seen?.headers['transfer-encoding'], undefined);
  assert.equal(seen?.body.toString(), 'abcdef');
});

test('send(): failures reject with a classified UpstreamFailure', async () => {
  const dead = backend({ base_url: 'http://127.0.0.1:1/v1' });
  await assert.rejects(dead.send(req()), (err: unknown) => err instanceof UpstreamFailure && err.kind === 'network');

  const slow = backend({ base_url: `${up.url}/stall/v1`, timeout_seconds: 0.3 });
  const t0 = Date.now();
  await assert.rejects(slow.send(req()), (err: unknown) => err instanceof UpstreamFailure && err.kind === 'timeout');
  assert.ok(Date.now() - t0 >= 250);

  const ac = new AbortController();
  const pending = backend({ base_url: `${up.url}/stall/v1` }).send(req({ signal: ac.signal }));
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(pending, (err: unknown) => err instanceof UpstreamFailure && err.kind === 'aborted');

  // The request path passes its RequestAbort (undici's EventEmitter signal shape) and never builds the signal.
  const ra = new RequestAbort();
  const viaSource = backend({ base_url: `${up.url}/stall/v1` }).send(sourceOnly(ra));
  setTimeout(() => ra.abort(), 50);
  await assert.rejects(viaSource, (err: unknown) => err instanceof UpstreamFailure && err.kind === 'aborted');
  assert.equal(ra.listenerCount, 0, 'undici removed its listener');
  const done = new RequestAbort();
  const ok = await backend({ base_url: `${up.url}/v1` }).send(sourceOnly(done));
  assert.equal(ok.status, 200);
  await readAllBody(ok.body);
  assert.equal(done.listenerCount, 0, 'no listener left behind by a completed request');
});

/** A request whose standard signal must never be read: the passthrough must use the RequestAbort. */
function sourceOnly(abort: RequestAbort): UpstreamRequest {
  const r = req({ abort });
  Object.defineProperty(r, 'signal', { get(): never { throw new Error('signal built'); } });
  return r;
}

async function readAllBody(body: Readable | Buffer): Promise<void> {
  if (Buffer.isBuffer(body)) return;
  for await (const chunk of body) void chunk;
}

test('timeout_seconds: 0 and absent mean the 300 s default', () => {
  assert.equal(backend({ base_url: 'http://h/v1' }).timeoutMs, 300_000);
  assert.equal(backend({ base_url: 'http://h/v1', timeout_seconds: 0 }).timeoutMs, 300_000);
  assert.equal(backend({ base_url: 'http://h/v1', timeout_seconds: 2 }).timeoutMs, 2000);
});
