import { isUtf8 } from 'node:buffer';
import { GatewayError } from '../../errors/gateway-error.js';
import type { RequestContext } from '../context.js';
import type { Stage } from '../run.js';

/**
 * JSON parse for `application/json` bodies (400 `invalid_json`), then the request facts later stages
 * use (CONTRACT §3.3 step 6): the model, `max_output_tokens`, and `charge_tokens = ceil(bytes/4) + max_output`.
 */
export const parseBody: Stage = {
  name: 'parse_body',
  run(ctx: RequestContext): void {
    const body = ctx.body;
    if (body !== undefined && body.length > 0 && isJsonType(ctx.req.headers['content-type'])) {
      if (!isUtf8(body)) throw new GatewayError('invalid_json', 'request body is not valid UTF-8');
      let value: unknown;
      try {
        value = JSON.parse(body.toString('utf8'));
      } catch (err) {
        throw new GatewayError('invalid_json', `invalid JSON body: ${(err as Error).message}`);
      }
      // Every OpenAI-style endpoint takes a JSON object; an array or scalar is a client bug that
      // would otherwise reach the upstream with no model and no route rule to match.
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new GatewayError('invalid_request', 'request body must be a JSON object');
      }
      ctx.json = value as Record<string, unknown>;
    }
    const json = ctx.json;
    const m = json?.['model'];
    if (typeof m === 'string' && m !== '') ctx.model = m;
    else if (ctx.path.startsWith('/v1/models/')) {
      try {
        ctx.model = decodeURIComponent(ctx.path.slice('/v1/models/'.length));
      } catch {
        throw new GatewayError('invalid_request', 'model id in the path is not valid percent-encoding');
      }
    }
    if (json) {
      const key = ctx.path.startsWith('/v1/responses') ? 'max_output_tokens' : 'max_tokens';
      const v = json[key] ?? (key === 'max_tokens' ? json['max_completion_tokens'] : undefined);
      if (typeof v === 'number' && Number.isFinite(v) && v > 0) ctx.maxOutputTokens = Math.floor(v);
    }
    ctx.chargeTokens = ctx.path === '/v1/responses/input_tokens' ? 0 : Math.ceil(ctx.bodyBytes / 4) + ctx.maxOutputTokens;
  },
};

function isJsonType(ct: string | undefined): boolean {
  if (ct === undefined) return false;
  return ct.length >= 16 && ct.slice(0, 16).toLowerCase() === 'application/json';
}
