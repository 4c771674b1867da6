import type { IrRequest, ProtocolId } from '../protocols/index.js';
import type { JsonObject } from '../protocols/util.js';
import type { UpstreamResponse } from '../upstream/types.js';

/**
 * A request that arrived on a client surface other than OpenAI (Anthropic `/v1/messages`, Gemini `/v1beta`), or a
 * `/v1/responses` request being shimmed onto chat completions. The pipeline carries the OpenAI-shaped form in
 * `ctx.json`; this keeps what it needs to answer in the client's protocol.
 */
export interface ClientSurface {
  /** The client's wire protocol. */
  readonly protocol: Exclude<ProtocolId, 'openai'>;
  /** The client's body as sent (its own protocol), for a backend that speaks that protocol natively. */
  readonly nativeBody: JsonObject;
  /** The request in canonical form. */
  readonly ir: IrRequest;
  /** The client asked for a stream. */
  readonly stream: boolean;
  /** The model as the client named it (echoed in replies). */
  readonly model: string;
  /** Request fields the translation dropped (`x-ditto-translation-warnings`). */
  readonly warnings: readonly string[];
  /** Gemini `/v1internal`: wrap the reply and every chunk as `{"response":…}`. */
  readonly wrapInternal: boolean;
}

/** Turns one upstream answer into what the client receives (same status semantics, client protocol). */
export type ResponseConverter = (up: UpstreamResponse) => Promise<UpstreamResponse>;
