import { AUTH_MESSAGES, presentedToken } from '../auth/keys.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { RequestContext } from '../pipeline/context.js';
import type { Stage } from '../pipeline/run.js';
import { readBody } from '../pipeline/stages/read-body.js';
import { jsonObjectBody } from './request.js';

/** Largest body `count_tokens` reads (CONTRACT §3.7). */
export const COUNT_TOKENS_MAX_BYTES = 4 * 1024 * 1024;

/**
 * `POST /v1/messages/count_tokens` (CONTRACT §3.7, §7.9): a valid key when keys are configured (else none needed),
 * a JSON body of at most 4 MiB, and the gateway's estimate `ceil(body_bytes/4)` — no tokenizer, so the reply says
 * `x-ditto-token-count: estimate`. Nothing goes upstream.
 */
export const countTokens: Stage = {
  name: 'count_tokens',
  async run(ctx: RequestContext): Promise<void> {
    if (ctx.gw.keys.size > 0) {
      const result = ctx.gw.keys.verify(presentedToken(ctx.req.headers));
      if (typeof result === 'string') throw new GatewayError('invalid_api_key', AUTH_MESSAGES[result]);
      ctx.key = result;
    }
    const cl = Number(ctx.req.headers['content-length'] ?? 0);
    if (cl > COUNT_TOKENS_MAX_BYTES) throw tooLarge();
    await readBody.run(ctx);
    if (ctx.outcome !== 'pending') return;
    if (ctx.bodyStream !== undefined) throw new GatewayError('invalid_request', 'count_tokens takes a JSON body');
    if (ctx.bodyBytes > COUNT_TOKENS_MAX_BYTES) throw tooLarge();
    jsonObjectBody(ctx);
    const body = JSON.stringify({ input_tokens: Math.ceil(ctx.bodyBytes / 4) });
    ctx.status = 200;
    ctx.outcome = 'local_reply';
    ctx.res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-ditto-request-id': ctx.id,
      'x-request-id': ctx.id,
      'x-ditto-token-count': 'estimate',
    });
    ctx.res.end(body);
  },
};

function tooLarge(): GatewayError {
  return new GatewayError('request_too_large', `count_tokens body exceeds the ${COUNT_TOKENS_MAX_BYTES}-byte limit`);
}
