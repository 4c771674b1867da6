import { GatewayError } from '../errors/gateway-error.js';
import type { RequestContext } from '../pipeline/context.js';
import type { Stage } from '../pipeline/run.js';
import { PROTOCOLS } from '../protocols/index.js';
import { decodeRequest, installSurface, jsonObjectBody } from './request.js';

/**
 * The Anthropic Messages surface (CONTRACT §3.7): `POST /v1/messages` in Anthropic's shape, mapped to
 * `/v1/chat/completions` and run through the normal pipeline; the answer goes back as an Anthropic message, or as
 * Anthropic's SSE event sequence (`message_start` … `message_stop`) when the client streams.
 *
 * @see https://docs.anthropic.com/en/api/messages
 */
export const anthropicRequest: Stage = {
  name: 'anthropic_request',
  run(ctx: RequestContext): void {
    const body = jsonObjectBody(ctx);
    if (typeof body['model'] !== 'string' || body['model'] === '') throw new GatewayError('invalid_request', 'missing field `model`', { param: 'model' });
    if (!Array.isArray(body['messages'])) throw new GatewayError('invalid_request', 'missing field `messages`', { param: 'messages' });
    const ir = decodeRequest(() => PROTOCOLS.anthropic.requestToIr(body));
    installSurface(ctx, {
      protocol: 'anthropic', nativeBody: body, ir: ir.value, stream: ir.value.stream, model: body['model'], warnings: ir.warnings, wrapInternal: false,
    }, 'parts');
  },
};
