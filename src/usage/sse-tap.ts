import type { TokenUsage } from '../pricing/table.js';
import type { RelayTap } from '../upstream/relay.js';
import { usageFromJsonBody, usageFromObject } from './extract.js';

const LF = 0x0a;
const CR = 0x0d;
/** An event larger than this is not scanned (and, when filtering, passed through unfiltered). */
const MAX_EVENT_BYTES = 1024 * 1024;
const USAGE = Buffer.from('"usage"');

/**
 * Watches an SSE response on its way to the client (CONTRACT §4.8, §7.7): splits the bytes into
 * events (blank line = LF, CR or CRLF twice, a CRLF split across chunks included), and reads `usage`
 * from each `data:` event that mentions it — the last one wins. Only events containing `"usage"` are
 * parsed.
 *
 * With `dropUsageOnly`, events whose JSON has `usage` and an empty `choices` array (the usage-only final
 * chunk OpenAI sends for `stream_options.include_usage`) are removed from what the client receives. To
 * decide, an incomplete event is held until its blank line arrives — never more than one event, and
 * nothing is held between events; every other byte goes through unchanged.
 */
export class SseUsageTap implements RelayTap {
  usage: TokenUsage | undefined;
  /** Usage-only events removed. */
  dropped = 0;
  readonly #filter: boolean;
  /** Bytes of the current incomplete event (scan mode: a copy; filter mode: held back from the client). */
  #partial: Buffer[] = [];
  #partialLen = 0;
  #oversize = false;
  #lineLen = 0;
  #lastCR = false;

  constructor(options: { dropUsageOnly?: boolean } = {}) {
    this.#filter = options.dropUsageOnly === true;
  }

  onChunk(chunk: Buffer): Buffer | undefined {
    let start = 0;
    const out: Buffer[] | undefined = this.#filter ? [] : undefined;
    let lineLen = this.#lineLen;
    let lastCR = this.#lastCR;
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const b = chunk[i] as number;
      if (b === LF) {
        if (lastCR) {
          lastCR = false;
          continue; // second half of a CRLF
        }
      } else if (b === CR) {
        lastCR = true;
      } else {
        lastCR = false;
        lineLen++;
        continue;
      }
      // A line ended at i; an empty line ends the event.
      if (lineLen === 0) {
        let end = i + 1;
        if (b === CR && end < n && chunk[end] === LF) {
          end++;
          i++;
          lastCR = false;
        }
        this.#event(chunk.subarray(start, end), out);
        start = end;
      }
      lineLen = 0;
    }
    this.#lineLen = lineLen;
    this.#lastCR = lastCR;
    if (start < n) this.#hold(chunk.subarray(start));
    if (out === undefined) return undefined;
    if (this.#oversize && this.#partialLen > 0) {
      // Too big to hold: let it through unfiltered.
      out.push(...this.#partial);
      this.#partial = [];
      this.#partialLen = 0;
    }
    if (out.length === 1 && out[0] === chunk) return undefined;
    return out.length === 1 ? out[0] : Buffer.concat(out);
  }

  /** End of stream: a final event without its blank line is still scanned (and released). */
  onEnd(): Buffer | undefined {
    if (this.#partialLen === 0) return undefined;
    const parts = this.#partial;
    this.#partial = [];
    this.#partialLen = 0;
    const last = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    if (!this.#oversize) this.#scan(last);
    return this.#filter ? last : undefined;
  }

  #hold(bytes: Buffer): void {
    if (this.#oversize) {
      if (this.#filter) this.#partial.push(bytes);
      return;
    }
    this.#partialLen += bytes.length;
    if (this.#partialLen > MAX_EVENT_BYTES) this.#oversize = true;
    // Scan mode copies: the chunk is handed to the socket and must not be retained by reference.
    this.#partial.push(this.#filter ? bytes : Buffer.from(bytes));
  }

  /** A complete event: its tail in `chunk` plus anything held. */
  #event(tail: Buffer, out: Buffer[] | undefined): void {
    let ev = tail;
    const oversize = this.#oversize;
    if (this.#partialLen > 0 || this.#partial.length > 0) {
      if (!oversize) ev = Buffer.concat([...this.#partial, tail]);
      else if (out) out.push(...this.#partial);
      this.#partial = [];
      this.#partialLen = 0;
    }
    this.#oversize = false;
    if (oversize) {
      out?.push(tail);
      return;
    }
    const drop = this.#scan(ev);
    if (out && !drop) out.push(ev);
    else if (drop) this.dropped++;
  }

  /** Read usage from one event; true when it is a usage-only chunk that the filter removes. */
  #scan(ev: Buffer): boolean {
    if (ev.indexOf(USAGE) < 0) return false;
    const data = dataOf(ev.toString('utf8'));
    if (data === undefined || data === '[DONE]') return false;
    let v: unknown;
    try {
      v = JSON.parse(data);
    } catch {
      return false;
    }
    if (v === null || typeof v !== 'object') return false;
    const o = v as Record<string, unknown>;
    const u = usageFromObject(o['usage']) ?? usageFromObject((o['response'] as Record<string, unknown> | undefined)?.['usage']);
    if (u === undefined) return false;
    this.usage = u;
    const choices = o['choices'];
    return this.#filter && Array.isArray(choices) && choices.length === 0;
  }
}

/** The `data` of one SSE event (multi-line data joined by LF), or undefined. */
function dataOf(text: string): string | undefined {
  let data: string | undefined;
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (!line.startsWith('data:')) continue;
    const v = line.charCodeAt(5) === 0x20 ? line.slice(6) : line.slice(5);
    data = data === undefined ? v : `${data}\n${v}`;
  }
  return data;
}

/**
 * Collects a non-SSE response body up to `maxBytes` while it streams to the client, then reads its
 * usage. Past the cap it stops collecting (the request is charged its estimate, §4.6).
 */
export class JsonUsageTap implements RelayTap {
  readonly #max: number;
  #parts: Buffer[] = [];
  #len = 0;
  #over = false;

  constructor(maxBytes: number) {
    this.#max = maxBytes;
  }

  onChunk(chunk: Buffer): undefined {
    if (this.#over) return undefined;
    this.#len += chunk.length;
    if (this.#len > this.#max) {
      this.#over = true;
      this.#parts = [];
      return undefined;
    }
    this.#parts.push(Buffer.from(chunk));
    return undefined;
  }

  /** Usage of the collected body, or undefined (over the cap, no usage, not JSON). */
  usage(): TokenUsage | undefined {
    if (this.#over || this.#len === 0) return undefined;
    return usageFromJsonBody(this.#parts.length === 1 ? (this.#parts[0] as Buffer) : Buffer.concat(this.#parts));
  }
}
