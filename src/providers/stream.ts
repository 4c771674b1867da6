/**
 * Byte-level stream translation: upstream SSE bytes → the provider protocol's decoder → IR events → the client
 * protocol's encoder → client SSE bytes, chunk by chunk as they arrive (never buffered beyond one incomplete event).
 */
import { pipeline, Transform, type Readable } from 'node:stream';
import type { IrStreamEvent, StreamDecoder, StreamEncoder } from '../protocols/index.js';

/** Slice sizes for large upstream reads (see `transform`). */
const FIRST_SLICE_BYTES = 1024;
const SLICE_BYTES = 16 * 1024;

/** Called with every IR event on its way through (usage taps, tests). Must be cheap and must not throw. */
export type IrEventTap = (ev: IrStreamEvent) => void;

/**
 * Translate an upstream SSE body. The result is a byte stream of complete client SSE frames. Backpressure flows
 * through (a paused client pauses the upstream socket); destroying the result destroys the upstream body; an upstream
 * failure destroys the result with that error (the relay then ends the client stream with an SSE error event, at an
 * event boundary because every frame written here is complete).
 */
export function translateStream(body: Readable, decoder: StreamDecoder, encoder: StreamEncoder, tap?: IrEventTap): Readable {
  const encode = (events: IrStreamEvent[]): string => {
    let out = '';
    for (const ev of events) {
      tap?.(ev);
      const frames = encoder.push(ev);
      for (let i = 0; i < frames.length; i++) out += frames[i];
    }
    return out;
  };
  let sent = false;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      // A large read (a burst the provider sent at once, or bytes queued while the client was slow) is translated in
      // slices, the first one small, so the first frames go out before the rest of the chunk is decoded.
      for (let at = 0; at < chunk.length;) {
        const end = Math.min(chunk.length, at + (sent ? SLICE_BYTES : FIRST_SLICE_BYTES));
        const out = encode(decoder.push(at === 0 && end === chunk.length ? chunk : chunk.subarray(at, end)));
        if (out !== '') {
          this.push(out);
          sent = true;
        }
        at = end;
      }
      cb();
    },
    flush(cb) {
      let out = encode(decoder.end());
      for (const f of encoder.end()) out += f;
      if (out !== '') this.push(out);
      cb();
    },
  });
  pipeline(body, t, () => undefined);
  return t;
}
