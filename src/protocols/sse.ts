/**
 * Byte-level Server-Sent Events decoder and encoder shared by every protocol (STYLE §3.4 item 7).
 *
 * Decoding follows the WHATWG event-stream rules the way undici's `eventsource-stream.js` and openai-node's
 * `LineDecoder`/`SSEDecoder` do: CR, LF and CRLF line ends (a CRLF may be split across chunks), a leading UTF-8 BOM,
 * `:` comments, multi-line `data:`, `event:` names and a cap on the size of one event. Bytes are decoded to text one
 * complete line at a time, so a multi-byte character split across chunks is never corrupted.
 * One deliberate leniency: at end of input, a final event that lacks its blank line is still dispatched (some
 * providers end the body right after the last `data:` line).
 *
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */

/** One dispatched event. `event` is `"message"` when the stream named none. */
export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/** The stream broke the decoder's limits (an event larger than `maxEventBytes`). */
export class SseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SseError';
  }
}

/** Options for {@link SseDecoder}. */
export interface SseDecoderOptions {
  /** Largest event (sum of its line lengths) accepted; default 16 MiB. */
  maxEventBytes?: number;
}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024;
// ignoreBOM: a BOM is stripped once, at stream start, by the decoder itself; elsewhere it is data.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** Incremental SSE decoder: `push(bytes)` returns the events completed by those bytes; `end()` flushes. */
export class SseDecoder {
  readonly #max: number;
  /** Bytes of the current, still incomplete line (kept as pieces so a long line is copied once). */
  #pieces: Uint8Array[] = [];
  #piecesLen = 0;
  /** The previous chunk ended with CR: a leading LF in the next chunk belongs to the same line end. */
  #afterCR = false;
  /** 0 = BOM not yet checked; 1 = checked. */
  #bomDone = false;
  #data: string | undefined;
  #event = '';
  #id: string | undefined;
  #eventBytes = 0;

  constructor(options: SseDecoderOptions = {}) {
    this.#max = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  }

  /** Feeds bytes; returns every event they complete. Throws {@link SseError} when an event exceeds the cap. */
  push(chunk: Uint8Array): SseEvent[] {
    const out: SseEvent[] = [];
    let buf = chunk;
    let pos = 0;
    if (!this.#bomDone) {
      // The BOM may itself be split across chunks: hold up to two bytes until we can tell.
      if (this.#piecesLen > 0) {
        buf = concat([...this.#pieces, chunk], this.#piecesLen + chunk.length);
        this.#pieces = [];
        this.#piecesLen = 0;
      }
      if (buf.length < 3 && isBomPrefix(buf)) {
        this.#pieces.push(buf.slice());
        this.#piecesLen = buf.length;
        return out;
      }
      this.#bomDone = true;
      if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) pos = 3;
    }
    if (this.#afterCR) {
      this.#afterCR = false;
      if (pos < buf.length && buf[pos] === LF) pos++;
    }
    const n = buf.length;
    let start = pos;
    for (let i = pos; i < n; i++) {
      const b = buf[i];
      if (b !== LF && b !== CR) continue;
      this.#line(buf, start, i, out);
      if (b === CR) {
        if (i + 1 < n) {
          if (buf[i + 1] === LF) i++;
        } else {
          this.#afterCR = true;
        }
      }
      start = i + 1;
    }
    if (start < n) {
      // Copy: the caller may reuse its buffer.
      this.#pieces.push(buf.slice(start, n));
      this.#piecesLen += n - start;
      if (this.#eventBytes + this.#piecesLen > this.#max) this.#overflow();
    }
    return out;
  }

  /** Flushes a final unterminated line and event at end of input. */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    if (this.#piecesLen > 0) {
      const rest = concat(this.#pieces, this.#piecesLen);
      this.#pieces = [];
      this.#piecesLen = 0;
      let pos = 0;
      if (!this.#bomDone && rest.length >= 3 && rest[0] === 0xef && rest[1] === 0xbb && rest[2] === 0xbf) pos = 3;
      if (pos < rest.length) this.#line(rest, pos, rest.length, out);
    }
    this.#bomDone = true;
    this.#dispatch(out);
    return out;
  }

  #overflow(): never {
    this.#pieces = [];
    this.#piecesLen = 0;
    this.#data = undefined;
    this.#eventBytes = 0;
    throw new SseError(`server-sent event larger than ${this.#max} bytes`);
  }

  #line(buf: Uint8Array, start: number, end: number, out: SseEvent[]): void {
    let line: Uint8Array;
    if (this.#piecesLen > 0) {
      this.#pieces.push(buf.subarray(start, end));
      line = concat(this.#pieces, this.#piecesLen + end - start);
      this.#pieces = [];
      this.#piecesLen = 0;
    } else {
      line = buf.subarray(start, end);
    }
    const len = line.length;
    if (len === 0) {
      this.#dispatch(out);
      return;
    }
    this.#eventBytes += len + 1;
    if (this.#eventBytes > this.#max) this.#overflow();
    if (line[0] === COLON) return; // comment
    const colon = line.indexOf(COLON);
    let field: string;
    let value: string;
    if (colon < 0) {
      field = utf8.decode(line);
      value = '';
    } else {
      field = utf8.decode(line.subarray(0, colon));
      const v = colon + 1 < len && line[colon + 1] === 0x20 ? colon + 2 : colon + 1;
      value = utf8.decode(line.subarray(v));
    }
    switch (field) {
      case 'data':
        this.#data = this.#data === undefined ? value : `${this.#data}\n${value}`;
        break;
      case 'event':
        this.#event = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.#id = value;
        break;
      default: // `retry` and unknown fields are ignored
    }
  }

  #dispatch(out: SseEvent[]): void {
    if (this.#data !== undefined) {
      const ev: SseEvent = { event: this.#event || 'message', data: this.#data };
      if (this.#id !== undefined) ev.id = this.#id;
      out.push(ev);
    }
    this.#data = undefined;
    this.#event = '';
    this.#eventBytes = 0;
  }
}

function isBomPrefix(b: Uint8Array): boolean {
  return (b.length === 0 || b[0] === 0xef) && (b.length < 2 || b[1] === 0xbb);
}

function concat(pieces: Uint8Array[], total: number): Uint8Array {
  if (pieces.length === 1 && pieces[0]) return pieces[0];
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of pieces) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The OpenAI end-of-stream sentinel's data. */
/**
 * Feed `chunk` to `sse` and hand each decoded event to `onEvent`; a framing error (oversized event,
 * undecodable bytes) becomes one `fail` call instead of an exception. Shared by the protocol decoders.
 */
export function decodeSseChunk<T>(
  sse: SseDecoder,
  chunk: Uint8Array,
  onEvent: (ev: SseEvent, out: T[]) => void,
  fail: (out: T[], message: string) => void,
): T[] {
  const out: T[] = [];
  let events: SseEvent[];
  try {
    events = sse.push(chunk);
  } catch (e) {
    fail(out, e instanceof SseError ? e.message : 'undecodable stream');
    return out;
  }
  for (const ev of events) onEvent(ev, out);
  return out;
}

export const DONE_DATA = '[DONE]';
/** The OpenAI end-of-stream frame. */
export const DONE_FRAME = 'data: [DONE]\n\n';

/**
 * Frames one event. `data` may contain newlines (split into several `data:` lines); `event` must not
 * (header injection, as hono's `writeSSE` guards).
 */
export function encodeSse(data: string, event?: string): string {
  let head = '';
  if (event !== undefined) {
    if (event.includes('\n') || event.includes('\r')) throw new SseError('event name must not contain a line break');
    head = `event: ${event}\n`;
  }
  if (!data.includes('\n') && !data.includes('\r')) return `${head}data: ${data}\n\n`;
  return `${head}${data.split(/\r\n|\r|\n/).map((l) => `data: ${l}`).join('\n')}\n\n`;
}

/**
 * Frames a JSON value. `JSON.stringify` never emits a raw line break, so this skips {@link encodeSse}'s scan
 * (the per-chunk hot path). `event` is a constant of the calling protocol.
 */
export function encodeSseJson(value: unknown, event?: string): string {
  const json = JSON.stringify(value);
  return event === undefined ? `data: ${json}\n\n` : `event: ${event}\ndata: ${json}\n\n`;
}
