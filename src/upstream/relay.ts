import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

/** How a relay ended. */
export type RelayEnd = 'complete' | 'upstream_error' | 'client_aborted';

/**
 * Hooks a relay calls per chunk (usage taps, metrics). Must be cheap and must not throw. `onChunk` may
 * return replacement bytes to write instead of the chunk (an SSE event filter; empty = write nothing);
 * `onEnd` may return bytes it held back, written before the response ends.
 */
export interface RelayTap {
  onChunk(chunk: Buffer): Buffer | undefined;
  onEnd?(): Buffer | undefined;
}

const ignore = (): void => undefined;

const SSE_ERROR = Buffer.from(
  `data: ${JSON.stringify({ error: { message: 'the upstream stream failed before it finished', type: 'api_error', code: 'upstream_failure' } })}\n\n`,
);

/** Options of {@link relayBody}. */
export interface RelayOptions {
  /** The SSE error event written when the upstream fails at an event boundary (default: OpenAI's shape). */
  errorEvent?: Buffer;
}

/**
 * Relay an upstream body to the client chunk by chunk as it arrives: never buffered, `write()`
 * returning false pauses the upstream until `drain`, a client close destroys the upstream body
 * (closing its connection), and an upstream failure ends the client response: an SSE stream at an
 * event boundary gets an error event, anything else is cut off (never a JSON body spliced in).
 */
export function relayBody(res: ServerResponse, body: Readable, sse: boolean, tap?: RelayTap, options: RelayOptions = {}): Promise<{ end: RelayEnd; bytes: number }> {
  return new Promise((resolve) => {
    let bytes = 0;
    let settled = false;
    let tail = 0; // last four bytes, to know whether we are at an SSE event boundary
    const finish = (end: RelayEnd): void => {
      if (settled) return;
      settled = true;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.on('error', ignore); // a destroyed upstream body may still report its abort
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve({ end, bytes });
    };
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length;
      const n = chunk.length;
      if (n >= 4) tail = chunk.readUInt32BE(n - 4);
      else for (let i = 0; i < n; i++) tail = ((tail << 8) | (chunk[i] as number)) >>> 0;
      let out = chunk;
      if (tap) {
        const r = tap.onChunk(chunk);
        if (r !== undefined) {
          if (r.length === 0) return;
          out = r;
        }
      }
      if (!res.write(out)) body.pause();
    };
    const onDrain = (): void => { body.resume(); };
    const onEnd = (): void => {
      const held = tap?.onEnd?.();
      if (held !== undefined && held.length > 0) res.end(held);
      else res.end();
      finish('complete');
    };
    const onError = (): void => {
      if (sse && (bytes === 0 || atEventBoundary(tail)) && !res.destroyed) {
        res.end(options.errorEvent ?? SSE_ERROR);
      } else {
        res.destroy();
      }
      finish('upstream_error');
    };
    const onClose = (): void => {
      if (res.writableFinished) return;
      body.destroy();
      finish('client_aborted');
    };
    // Either side may already be gone (the client left while the upstream answered): their events
    // have fired, so waiting for them would hang the request and leak its permits.
    if (res.destroyed) {
      body.on('error', ignore);
      body.destroy();
      resolve({ end: 'client_aborted', bytes });
      return;
    }
    if (body.destroyed) {
      onError();
      return;
    }
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

/**
 * True when the last bytes relayed (big-endian in `tail`) end an SSE event, i.e. end with an empty
 * line: two line ends in a row, each LF, CR or CRLF.
 */
export function atEventBoundary(tail: number): boolean {
  const b1 = tail & 0xff;
  const b2 = (tail >>> 8) & 0xff;
  if (b1 === 0x0a) {
    if (b2 === 0x0d) {
      const b3 = (tail >>> 16) & 0xff;
      return b3 === 0x0a || b3 === 0x0d;
    }
    return b2 === 0x0a;
  }
  return b1 === 0x0d && (b2 === 0x0d || b2 === 0x0a);
}
