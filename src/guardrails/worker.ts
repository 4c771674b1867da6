/**
 * Worker-thread side of {@link GuardrailOffload}: checks large requests off the gateway's event
 * loop. Each policy is compiled once per worker (keyed by its config) and reused.
 */
import { parentPort } from 'node:worker_threads';
import type { GuardrailsConfig } from '../config/schema.js';
import { checkGuardrails, type GuardrailRejection } from './check.js';
import { compileGuardrails, type CompiledGuardrails } from './compile.js';
import type { OffloadRequest, OffloadReply } from './offload.js';

const compiled = new Map<string, CompiledGuardrails>();
const MAX_POLICIES = 256;

function policy(cfg: GuardrailsConfig, path: string): CompiledGuardrails {
  const key = JSON.stringify([path, cfg]);
  let g = compiled.get(key);
  if (g === undefined) {
    g = compileGuardrails(cfg, path);
    if (compiled.size >= MAX_POLICIES) compiled.clear();
    compiled.set(key, g);
  }
  return g;
}

function run(req: OffloadRequest): GuardrailRejection | undefined {
  const rawBody = Buffer.from(req.rawBody.buffer, req.rawBody.byteOffset, req.rawBody.byteLength);
  const json = req.json ? (JSON.parse(rawBody.toString('utf8')) as Record<string, unknown>) : undefined;
  return checkGuardrails(policy(req.config, req.path), {
    method: req.method,
    path: req.requestPath,
    model: req.model,
    inputTokenEstimate: req.inputTokenEstimate,
    json,
    rawBody,
    contentType: req.contentType,
  });
}

parentPort?.on('message', (req: OffloadRequest) => {
  let reply: OffloadReply;
  try {
    const r = run(req);
    reply = { id: req.id, rejection: r === undefined ? undefined : { ...r } };
  } catch (err) {
    reply = { id: req.id, error: (err as Error).message };
  }
  parentPort?.postMessage(reply);
});
