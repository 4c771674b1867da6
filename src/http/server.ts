import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Timeouts that protect the gateway from slow or stuck clients. */
export const SERVER_LIMITS = {
  /** A client must finish sending headers within this (slowloris). */
  headersTimeoutMs: 20_000,
  /** ...and the whole request (body included) within this; large uploads fit. */
  requestTimeoutMs: 600_000,
  /** Idle keep-alive: above common load balancers' 60 s idle timeout. */
  keepAliveTimeoutMs: 65_000,
  maxHeaderSize: 32 * 1024,
  /**
   * How often the header and request timeouts are checked. Node's default (30 s) would let a
   * slowloris client hold a socket for up to 50 s despite the 20 s header limit.
   */
  connectionsCheckingIntervalMs: 1_000,
} as const;

const BAD_REQUEST = JSON.stringify({ error: { message: 'malformed HTTP request', type: 'invalid_request_error', code: 'invalid_request' } });
const HEADERS_TOO_LARGE = JSON.stringify({ error: { message: 'request headers too large', type: 'invalid_request_error', code: 'request_too_large' } });
const TIMEOUT = JSON.stringify({ error: { message: 'request not received in time', type: 'invalid_request_error', code: 'invalid_request' } });

/** An HTTP server with protective limits and a JSON answer for malformed requests. */
export function createHttpServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const server = createServer({
    headersTimeout: SERVER_LIMITS.headersTimeoutMs,
    requestTimeout: SERVER_LIMITS.requestTimeoutMs,
    keepAliveTimeout: SERVER_LIMITS.keepAliveTimeoutMs,
    maxHeaderSize: SERVER_LIMITS.maxHeaderSize,
    connectionsCheckingInterval: SERVER_LIMITS.connectionsCheckingIntervalMs,
    noDelay: true,
  }, handler);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || (err.code === 'ECONNRESET')) {
      socket.destroy();
      return;
    }
    let status = '400 Bad Request';
    let body = BAD_REQUEST;
    if (err.code === 'HPE_HEADER_OVERFLOW') { status = '431 Request Header Fields Too Large'; body = HEADERS_TOO_LARGE; }
    else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') { status = '408 Request Timeout'; body = TIMEOUT; }
    socket.end(`HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
  return server;
}
