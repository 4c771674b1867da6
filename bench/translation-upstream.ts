/**
 * Worker thread for `translation-micro.ts`, so only the gateway runs on the main thread: an OpenAI-compatible and an
 * Anthropic SSE upstream (each frame its own write; the opening frames at once, the rest 2 ms later), and the
 * time-to-first-byte client. Posts `{ openai, anthropic }` base URLs, then answers `{ gateway, samples }` with the
 * interleaved first-byte times `{ passthrough, translation }`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { createTtfbSampler } from './ttfb.js';

/** Frames written before the pause (message_start / role chunk, block start, first delta). */
const HEAD_FRAMES = 3;

const { openaiFrames, anthropicFrames } = workerData as { openaiFrames: string[]; anthropicFrames: string[] };

function serve(frames: string[]): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      // The opening events at once, the rest 2 ms later: a model takes at least that long per token, so a real
      // provider never sends its whole answer in the same burst as its first event.
      for (const f of frames.slice(0, HEAD_FRAMES)) res.write(f);
      setTimeout(() => {
        for (const f of frames.slice(HEAD_FRAMES)) res.write(f);
        res.end();
      }, 2);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

const [openai, anthropic] = await Promise.all([serve(openaiFrames), serve(anthropicFrames)]);
parentPort?.once('message', (m: { gateway: string; samples: number }) => {
  void (async () => {
    const headers = { authorization: 'Bearer sk-bench', 'content-type': 'application/json' };
    const body = (model: string): string => JSON.stringify({ model, max_tokens: 256, stream: true, messages: [{ role: 'user', content: 'hello' }] });
    const pass = createTtfbSampler(`${m.gateway}/v1/chat/completions`, body('gpt-4o-mini'), headers);
    const trans = createTtfbSampler(`${m.gateway}/v1/chat/completions`, body('claude-sonnet-4-5'), headers);
    const check = await trans.fetchOnce();
    if (check.status !== 200 || !check.body.includes('"finish_reason":"stop"')) throw new Error(`translated stream check failed: ${check.status}`);
    await pass.sample(100);
    await trans.sample(100);
    const passthrough: number[] = [];
    const translation: number[] = [];
    for (let i = 0; i < m.samples; i += 100) {
      passthrough.push(...await pass.sample(100));
      translation.push(...await trans.sample(100));
    }
    pass.close();
    trans.close();
    parentPort?.postMessage({ passthrough, translation });
  })();
});
parentPort?.postMessage({ openai, anthropic });
