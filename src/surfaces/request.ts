import { isUtf8 } from 'node:buffer';
import { GatewayError } from '../errors/gateway-error.js';
import type { RequestContext } from '../pipeline/context.js';
import { PROTOCOLS, type Converted, type IrRequest } from '../protocols/index.js';
import { isRecord, type JsonObject } from '../protocols/util.js';
import { convertFromOpenAi, translationError, type ConvertOptions } from './convert.js';
import type { ClientSurface } from './types.js';
import { surfaceUsageSink } from './usage.js';

/** The request body as a JSON object, whatever its content type (these surfaces take JSON only). */
export function jsonObjectBody(ctx: RequestContext): JsonObject {
  if (ctx.json !== undefined) return ctx.json;
  const body = ctx.body;
  if (body === undefined || body.length === 0) throw new GatewayError('invalid_request', 'request body must be a JSON object');
  if (!isUtf8(body)) throw new GatewayError('invalid_json', 'request body is not valid UTF-8');
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new GatewayError('invalid_json', `invalid JSON body: ${(err as Error).message}`);
  }
  if (!isRecord(value)) throw new GatewayError('invalid_request', 'request body must be a JSON object');
  return value;
}

/** Runs a protocol's request decoder, turning its `TranslationError` into a 400 naming the parameter. */
export function decodeRequest(decode: () => Converted<IrRequest>): Converted<IrRequest> {
  try {
    return decode();
  } catch (err) {
    throw translationError(err);
  }
}

/**
 * Puts a surface request on the normal pipeline: `ctx.json`/`ctx.body` become the OpenAI chat-completions form (so
 * guardrails, limits, budgets and routing see what a `/v1/chat/completions` client would send), the charge follows
 * CONTRACT §3.3 step 6 on the client's body, and the answer is converted back into the client's protocol.
 */
export function installSurface(ctx: RequestContext, surface: ClientSurface, textContent: 'parts' | 'string', wrap?: (json: string) => string): void {
  let mapped: Converted<JsonObject>;
  try {
    mapped = PROTOCOLS.openai.requestFromIr(surface.ir, { textContent });
  } catch (err) {
    throw translationError(err);
  }
  const warnings = [...surface.warnings, ...mapped.warnings];
  const full: ClientSurface = { ...surface, warnings };
  ctx.clientSurface = full;
  ctx.json = mapped.value;
  ctx.body = Buffer.from(JSON.stringify(mapped.value));
  ctx.model = surface.model;
  ctx.maxOutputTokens = surface.ir.maxTokens !== undefined && surface.ir.maxTokens > 0 ? Math.floor(surface.ir.maxTokens) : 0;
  ctx.chargeTokens = Math.ceil(ctx.bodyBytes / 4) + ctx.maxOutputTokens;
  for (const w of warnings) ctx.warnings.push(w);
  const options: ConvertOptions = {
    id: ctx.id,
    model: surface.model,
    warnings,
    onMidstreamFailure: () => { ctx.outcome = 'upstream_failed_midstream'; },
    onUsage: surfaceUsageSink(ctx),
  };
  if (wrap) options.wrap = wrap;
  ctx.convertResponse = (up) => convertFromOpenAi(surface.protocol, up, options);
}
