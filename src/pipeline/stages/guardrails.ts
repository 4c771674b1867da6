import type { Readable } from 'node:stream';
import { GatewayError } from '../../errors/gateway-error.js';
import { selectGuardrails, type CompiledGuardrails, type GuardrailRejection } from '../../guardrails/index.js';
import { INSPECTION_LIMIT } from '../../guardrails/check.js';
import type { RequestContext } from '../context.js';
import { bufferBody } from './read-body.js';
import type { Stage } from '../run.js';

/**
 * Guardrails (CONTRACT §2.3, §2.4, §3.3 step 9, §4.12): the policy that applies to this request —
 * a matching router rule's `guardrails` replace the key's, a key's `route` pin skips the rules — run
 * in the contract's order on the request facts. Runs after `parse_body` and before routing, rate
 * limits and budgets, so a refusal consumes no limit and no budget. Surface-agnostic: it reads only
 * the parsed body, the raw body and the model, whichever protocol the request came in.
 *
 * Synchronous on the common path; a small multipart upload (streamed by `read_body`) is buffered
 * first when the policy has to look inside it.
 */
export const guardrails: Stage = {
  name: 'guardrails',
  run(ctx: RequestContext): void | Promise<void> {
    const g = policyFor(ctx);
    if (g === undefined || !g.active) return undefined;
    if (ctx.bodyStream !== undefined && needsBody(g) && isMultipart(ctx)) return bufferUpload(ctx, g);
    return check(ctx, g);
  },
};

/** The compiled policy for this request, rule over key (CONTRACT §2.4). */
function policyFor(ctx: RequestContext): CompiledGuardrails | undefined {
  const gw = ctx.gw;
  const key = ctx.key;
  const pinned = Boolean(key?.config.route);
  const keyPolicy = key === undefined ? undefined : gw.guardrails.get(key.config.guardrails, `virtual key ${key.id} guardrails`);
  let rulePolicy: CompiledGuardrails | undefined;
  if (!pinned) {
    const rule = gw.router.match(ctx.model).rule;
    if (rule?.guardrails) rulePolicy = gw.guardrails.get(rule.guardrails, `router.rules[${rule.index}].guardrails`);
  }
  return selectGuardrails(keyPolicy, rulePolicy, pinned);
}

function check(ctx: RequestContext, g: CompiledGuardrails): void | Promise<void> {
  const r = ctx.gw.guardrails.check(g, {
    method: ctx.method,
    path: ctx.path,
    model: ctx.model,
    inputTokenEstimate: Math.ceil(ctx.bodyBytes / 4),
    json: ctx.json,
    rawBody: ctx.body,
    contentType: ctx.req.headers['content-type'],
  });
  if (r instanceof Promise) return r.then((x) => settle(ctx, x));
  settle(ctx, r);
  return undefined;
}

function settle(ctx: RequestContext, r: GuardrailRejection | undefined): void {
  if (r !== undefined) block(ctx, r.code, r.reason, r.message);
}

/** Refuse: count it, keep the reason for the `proxy.blocked` event and audit record, answer 403/400. */
function block(ctx: RequestContext, code: 'guardrail_rejected' | 'invalid_request', reason: string, message: string): never {
  ctx.guardrailReason = reason;
  ctx.gw.counters.guardrail_blocked++;
  throw new GatewayError(code, message);
}

/** Checks that look inside an upload: its `model` field, batch lines, schema parts, or its text. */
function needsBody(g: CompiledGuardrails): boolean {
  return g.hasTextRules || g.validateSchema || g.denyModels.length > 0 || g.allowModels.length > 0;
}

function isMultipart(ctx: RequestContext): boolean {
  return (ctx.req.headers['content-type'] ?? '').toLowerCase().startsWith('multipart/');
}

/**
 * Multipart bodies stream through `read_body` unbuffered. Within `--proxy-max-body-bytes` (CONTRACT
 * §3.3 step 2) they are read here so the policy can inspect them; a larger upload cannot be
 * inspected, so a policy that must see its model or text refuses it (`inspection_limit`, fail
 * closed) rather than let it through unchecked. The schema check does not apply to it (§3.3 step 2).
 */
async function bufferUpload(ctx: RequestContext, g: CompiledGuardrails): Promise<void> {
  const max = ctx.gw.options.maxBodyBytes;
  const len = Number(ctx.req.headers['content-length'] ?? Number.NaN);
  if (Number.isSafeInteger(len) && len > max) {
    if (g.hasTextRules || g.denyModels.length > 0 || g.allowModels.length > 0) {
      block(ctx, 'guardrail_rejected', INSPECTION_LIMIT, `guardrail rejected: ${INSPECTION_LIMIT}`);
    }
    return check(ctx, g);
  }
  const body = await bufferBody(ctx.bodyStream as Readable, max);
  if (body === undefined) {
    if (ctx.bodyTooLarge()) throw new GatewayError('request_too_large', `request body exceeds the ${max}-byte limit (--proxy-max-body-bytes)`);
    ctx.outcome = 'client_aborted';
    return;
  }
  ctx.body = body;
  ctx.bodyBytes = body.length;
  ctx.bodyStream = undefined;
  return check(ctx, g);
}
