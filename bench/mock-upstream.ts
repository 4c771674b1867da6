/**
 * The benchmark's upstream: a minimal, fast OpenAI-compatible server run as its own process (so it
 * never shares the gateway's event loop). Every answer is a precomputed buffer:
 * - `POST /v1/chat/completions` → the fixed chat.completion JSON, or an SSE stream when the body
 *   says `"stream":true` (first event with the headers, the rest on the next loop turn);
 * - anything else → 404.
 * Prints `{"port":N}` on stdout once listening; exits on SIGTERM.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { COMPLETION_BODY, SSE_FIRST, SSE_REST, UPSTREAM_HEADERS } from './fixtures.js';

const JSON_BODY = Buffer.from(COMPLETION_BODY);
const FIRST = Buffer.from(SSE_FIRST);
const REST = Buffer.from(SSE_REST);
const STREAM_FLAG = Buffer.from('"stream":true');
const NOT_FOUND = Buffer.from('{"error":{"message":"not found","type":"invalid_request_error","code":"not_found"}}');

const JSON_HEADERS = { ...UPSTREAM_HEADERS, 'content-type': 'application/json', 'content-length': String(JSON_BODY.length) };
const SSE_HEADERS = { ...UPSTREAM_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };

function answer(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  if (req.method !== 'POST' || !req.url?.startsWith('/v1/chat/completions')) {
    res.writeHead(404, { 'content-type': 'application/json', 'content-length': String(NOT_FOUND.length) });
    res.end(NOT_FOUND);
    return;
  }
  if (body.includes(STREAM_FLAG)) {
    res.writeHead(200, SSE_HEADERS);
    res.write(FIRST);
    setImmediate(() => res.end(REST));
    return;
  }
  res.writeHead(200, JSON_HEADERS);
  res.end(JSON_BODY);
}

const server = createServer({ keepAliveTimeout: 65_000, noDelay: true }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => answer(req, res, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
});

server.listen(Number(process.env['BENCH_MOCK_PORT'] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});

process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
