import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a mock upstream saw for one request. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** True once the client (the gateway) closed the connection before the response ended. */
  aborted: boolean;
}

/** A programmable OpenAI-compatible upstream on 127.0.0.1:0 that records every request. */
export interface MockUpstream {
  readonly url: string;
  /** `url` + `/v1`, the usual `base_url`. */
  readonly baseUrl: string;
  readonly requests: SeenRequest[];
  /** Replace the handler; the default answers a chat completion. */
  handle(fn: (req: IncomingMessage, res: ServerResponse, body: Buffer, seen: SeenRequest) => void | Promise<void>): void;
  close(): Promise<void>;
}

/** An OpenAI chat.completion body with the given text. */
export function chatCompletion(text: string, model = 'gpt-4o-mini'): Record<string, unknown> {
  return {
    id: 'chatcmpl-test', object: 'chat.completion', created: 1700000000, model,
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
  };
}

/** Write a JSON response. */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** Start a mock upstream. Bodies are read whole before the handler runs (unless `streamBody`). */
export async function startUpstream(options: { streamBody?: boolean } = {}): Promise<MockUpstream> {
  const requests: SeenRequest[] = [];
  let handler: (req: IncomingMessage, res: ServerResponse, body: Buffer, seen: SeenRequest) => void | Promise<void> =
    (_req, res) => sendJson(res, 200, chatCompletion('hello from upstream'));
  const server: Server = createServer((req, res) => {
    const seen: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.alloc(0), aborted: false };
    requests.push(seen);
    res.on('close', () => { if (!res.writableFinished) seen.aborted = true; });
    if (options.streamBody) {
      void handler(req, res, Buffer.alloc(0), seen);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.body = Buffer.concat(chunks);
      Promise.resolve(handler(req, res, seen.body, seen)).catch((err: unknown) => {
        res.destroy(err as Error);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    baseUrl: `${url}/v1`,
    requests,
    handle(fn) { handler = fn; },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
