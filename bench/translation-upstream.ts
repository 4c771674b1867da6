/**
 * Worker thread for `translation-micro.ts`: an OpenAI-compatible and an Anthropic SSE upstream on their own event
 * loop (so their writes do not hold up the gateway being measured). Posts `{ openai, anthropic }` base URLs.
 * Each frame is its own write, as a provider streaming tokens does (no pacing delay).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

const { openaiFrames, anthropicFrames } = workerData as { openaiFrames: string[]; anthropicFrames: string[] };

function serve(frames: string[]): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      for (const f of frames) res.write(f);
      res.end();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

const [openai, anthropic] = await Promise.all([serve(openaiFrames), serve(anthropicFrames)]);
parentPort?.postMessage({ openai, anthropic });
