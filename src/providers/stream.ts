/**
 * Byte-level stream translation: upstream SSE bytes → the provider protocol's decoder → IR events → the client
 * protocol's encoder → client SSE bytes, chunk by chunk as they arrive (never buffered beyond one incomplete event).
 */
import { pipeline, Transform, type Readable } from 'node:stream';
import type { IrStreamEvent, StreamDecoder, StreamEncoder } from '../protocols/index.js';

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
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      const out = encode(decoder.push(chunk));
      if (out !== '') this.push(out);
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
