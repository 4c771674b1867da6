/**
 * Large uploads stream through (CONTRACT §3.3 step 2) while other bodies are capped at
 * `--proxy-max-body-bytes` (§7.1: 413 `request_too_large`). The gateway runs with a 1 MiB limit; a
 * 24 MiB multipart upload via the SDK must reach the upstream byte for byte.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request, type IncomingMessage } from 'node:http';
import { after, before, test } from 'node:test';
import { APIError, toFile } from 'openai';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { sendJson, startUpstream, type MockUpstream } from '../helpers/upstream.js';
import { assertHealthy, assertNoLeak, errorOf, passthroughConfig, raw, rejectsWith, sdk, VK_TOKEN } from './proxy-kit.js';

const LIMIT = 1024 * 1024;
const UPLOAD_BYTES = 24 * 1024 * 1024;

let up: MockUpstream;
let gw: TestGateway;

before(async () => {
  up = await startUpstream({ streamBody: true });
  gw = await startTestGateway(passthroughConfig(up.baseUrl), { maxBodyBytes: LIMIT });
});

after(async () => {
  await gw?.close();
  await up?.close();
});

/** Read a request body whole while hashing it as it arrives. */
function readHashed(req: IncomingMessage): Promise<{ body: Buffer; sha256: string }> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => { h.update(c); chunks.push(c); });
    req.on('end', () => resolve({ body: Buffer.concat(chunks), sha256: h.digest('hex') }));
    req.on('error', reject);
  });
}

/** The content of the multipart part named `name`. */
function multipartPart(body: Buffer, contentType: string, name: string): Buffer | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) return undefined;
  const delim = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delim);
  while (at >= 0) {
    const next = body.indexOf(delim, at + delim.length);
    if (next < 0) return undefined;
    const part = body.subarray(at + delim.length, next);
    const headEnd = part.indexOf('\r\n\r\n');
    const head = part.subarray(0, headEnd).toString('latin1');
    if (head.includes(`name="${name}"`)) return part.subarray(headEnd + 4, part.length - 2); // drop the CRLF before the delimiter
    at = next;
  }
  return undefined;
}

test(`a ${UPLOAD_BYTES >> 20} MiB multipart upload to /v1/files streams through a ${LIMIT >> 20} MiB body limit intact`, async () => {
  up.requests.length = 0;
  const payload = randomBytes(UPLOAD_BYTES);
  const want = createHash('sha256').update(payload).digest('hex');
  let received: { total: number; declared: string | undefined; wholeSha: string; fileSha: string | undefined } | undefined;
  up.handle(async (req, res) => {
    const { body, sha256 } = await readHashed(req);
    const part = multipartPart(body, req.headers['content-type'] ?? '', 'file');
    received = {
      total: body.length,
      declared: req.headers['content-length'],
      wholeSha: sha256,
      fileSha: part ? createHash('sha256').update(part).digest('hex') : undefined,
    };
    sendJson(res, 200, { id: 'file-big', object: 'file', bytes: part?.length ?? 0, created_at: 1, filename: 'big.jsonl', purpose: 'batch', status: 'uploaded' });
  });
  const f = await sdk(gw.url).files.create({ file: await toFile(payload, 'big.jsonl'), purpose: 'batch' });
  assert.equal(f.id, 'file-big');
  assert.equal(f.bytes, UPLOAD_BYTES);
  assert.ok(received, 'upstream saw no upload');
  assert.equal(received.fileSha, want, 'file bytes changed on the way through');
  assert.ok(received.total > UPLOAD_BYTES);
  // The SDK sends a content-length, so this is the §3.3 step 2 path (length > limit), relayed with its length.
  assert.equal(Number(received.declared), received.total);
  assertNoLeak(up.requests);
  await assertHealthy(gw.url);
});

test('the same upload through the alias /files (no /v1) also streams through', async () => {
  up.requests.length = 0;
  const payload = randomBytes(3 * LIMIT);
  const boundary = 'ditto-e2e-boundary';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="purpose"\r\n\r\nbatch\r\n`),
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="x.bin"\r\ncontent-type: application/octet-stream\r\n\r\n`),
    payload,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  let sha: string | undefined;
  up.handle(async (req, res) => {
    sha = (await readHashed(req)).sha256;
    sendJson(res, 200, { ok: true });
  });
  const r = await raw(`${gw.url}/files?x=1`, {
    method: 'POST',
    headers: { authorization: `Bearer ${VK_TOKEN}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': body.length },
    body,
  });
  assert.equal(r.status, 200, r.body.toString('utf8'));
  assert.equal(up.requests[0]!.url, '/v1/files?x=1');
  assert.equal(sha, createHash('sha256').update(body).digest('hex'), 'the whole multipart body must arrive unchanged');
});

test('a JSON body over the limit gets 413 request_too_large (SDK APIError status 413) and never reaches upstream', async () => {
  up.requests.length = 0;
  const big = 'x'.repeat(LIMIT + 1);
  const err = await rejectsWith(
    sdk(gw.url).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: big }] }),
    APIError,
  );
  assert.equal(err.status, 413);
  assert.equal(err.code, 'request_too_large');
  assert.equal(err.type, 'invalid_request_error');
  assert.equal(up.requests.length, 0);
  await assertHealthy(gw.url);
});

test('a chunked JSON body that runs past the limit also gets 413', async () => {
  up.requests.length = 0;
  const res = await new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
    const req = request(`${gw.url}/v1/chat/completions`, {
      method: 'POST', agent: false,
      headers: { authorization: `Bearer ${VK_TOKEN}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    // The gateway may answer and close before every chunk is written (EPIPE/ECONNRESET): only a
    // missing response is a failure.
    let answered = false;
    req.once('response', () => { answered = true; });
    req.on('error', (err) => { if (!answered) setTimeout(() => reject(err), 2000); });
    const chunk = Buffer.alloc(256 * 1024, 0x61);
    req.write('{"model":"m","x":"');
    for (let i = 0; i < 6; i++) req.write(chunk);
    req.end('"}');
  });
  assert.equal(res.status, 413);
  assert.equal(errorOf(res).code, 'request_too_large');
  assert.equal(up.requests.length, 0);
  await assertHealthy(gw.url);
});

test('multipart over the limit on a non-upload path gets 413', async () => {
  up.requests.length = 0;
  const r = await raw(`${gw.url}/v1/images/edits`, {
    method: 'POST',
    headers: { authorization: `Bearer ${VK_TOKEN}`, 'content-type': 'multipart/form-data; boundary=b', 'content-length': 2 * LIMIT },
    body: Buffer.alloc(2 * LIMIT, 0x62),
  }).catch((err: unknown) => err as Error);
  assert.ok(!(r instanceof Error), `request failed: ${String(r)}`);
  assert.equal(r.status, 413);
  assert.equal(errorOf(r).code, 'request_too_large');
  assert.equal(up.requests.length, 0);
});

test('an oversize upload with a client x-request-id is refused: 400 unsupported_idempotency', async () => {
  up.requests.length = 0;
  const r = await raw(`${gw.url}/v1/files`, {
    method: 'POST',
    headers: { authorization: `Bearer ${VK_TOKEN}`, 'x-request-id': 'req-upload-1', 'content-type': 'multipart/form-data; boundary=b', 'content-length': 2 * LIMIT },
    body: Buffer.alloc(2 * LIMIT, 0x63),
  });
  assert.equal(r.status, 400);
  assert.equal(errorOf(r).code, 'unsupported_idempotency');
  assert.equal(r.headers['x-request-id'], 'req-upload-1');
  assert.equal(up.requests.length, 0);
});
