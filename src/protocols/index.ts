/**
 * One uniform adapter per wire format, so the pipeline (and the golden matrix test) can translate any client protocol
 * to any upstream protocol through the IR without knowing either.
 */
import * as anthropicErrors from './anthropic/errors.js';
import * as anthropicRequest from './anthropic/request.js';
import * as anthropicResponse from './anthropic/response.js';
import * as anthropicStream from './anthropic/stream.js';
import * as geminiErrors from './gemini/errors.js';
import * as geminiRequest from './gemini/request.js';
import * as geminiResponse from './gemini/response.js';
import * as geminiStream from './gemini/stream.js';
import type {
  Converted, DecoderOptions, EncodeContext, IrError, IrRequest, IrResponse, ProtocolId, StreamDecoder, StreamEncoder,
} from './ir.js';
import * as openaiErrors from './openai/errors.js';
import * as openaiRequest from './openai/request.js';
import * as openaiResponse from './openai/response.js';
import * as openaiStream from './openai/stream.js';
import { compact, type JsonObject } from './util.js';

/** What a request decoder needs beyond the body (Gemini carries model and streaming in the URL). */
export interface RequestDecodeContext {
  model?: string;
  stream?: boolean;
}

/** What a request encoder needs beyond the IR. */
export interface RequestEncodeOptions {
  /** Upstream model name after `model_map`. */
  model?: string;
  /** Anthropic: `max_tokens` when the client sent none. */
  defaultMaxTokens?: number;
  /** OpenAI: text-only user turns as parts (default) or one string (see `openai/request.ts`). */
  textContent?: 'parts' | 'string';
}

/** Everything one wire format offers. All functions are pure; the ones that parse throw `TranslationError`. */
export interface ProtocolAdapter {
  readonly id: ProtocolId;
  requestToIr(body: unknown, ctx?: RequestDecodeContext): Converted<IrRequest>;
  requestFromIr(ir: IrRequest, options?: RequestEncodeOptions): Converted<JsonObject>;
  responseToIr(body: unknown, options?: DecoderOptions): IrResponse;
  responseFromIr(ir: IrResponse, ctx: EncodeContext): Converted<JsonObject>;
  createStreamDecoder(options?: DecoderOptions): StreamDecoder;
  /** `includeUsage` only matters to OpenAI (`stream_options.include_usage`); the others always carry usage. */
  createStreamEncoder(ctx: EncodeContext & { includeUsage?: boolean }): StreamEncoder;
  parseUpstreamError(status: number, body: unknown): IrError;
  renderError(err: IrError): { status: number; body: JsonObject };
}

/** The adapters, by protocol id. */
export const PROTOCOLS: Readonly<Record<ProtocolId, ProtocolAdapter>> = {
  openai: {
    id: 'openai',
    requestToIr: (body) => openaiRequest.toIr(body),
    requestFromIr: (ir, o = {}) => openaiRequest.fromIr(ir, compact({ model: o.model, textContent: o.textContent })),
    responseToIr: (body) => openaiResponse.toIr(body),
    responseFromIr: openaiResponse.fromIr,
    createStreamDecoder: openaiStream.createDecoder,
    createStreamEncoder: (ctx) => openaiStream.createEncoder({ ...ctx, includeUsage: ctx.includeUsage ?? false }),
    parseUpstreamError: openaiErrors.parseUpstreamError,
    renderError: openaiErrors.renderError,
  },
  anthropic: {
    id: 'anthropic',
    requestToIr: (body) => anthropicRequest.toIr(body),
    requestFromIr: (ir, o = {}) => anthropicRequest.fromIr(ir, o),
    responseToIr: (body) => anthropicResponse.toIr(body),
    responseFromIr: anthropicResponse.fromIr,
    createStreamDecoder: anthropicStream.createDecoder,
    createStreamEncoder: (ctx) => anthropicStream.createEncoder(ctx),
    parseUpstreamError: anthropicErrors.parseUpstreamError,
    renderError: anthropicErrors.renderError,
  },
  gemini: {
    id: 'gemini',
    requestToIr: (body, ctx = {}) => geminiRequest.toIr(body, { model: ctx.model ?? '', stream: ctx.stream ?? false }),
    requestFromIr: (ir, o = {}) => geminiRequest.fromIr(ir, o.model === undefined ? {} : { model: o.model }),
    responseToIr: (body, o = {}) => geminiResponse.toIr(body, o.toolCallIdPrefix === undefined ? {} : { toolCallIdPrefix: o.toolCallIdPrefix }),
    responseFromIr: geminiResponse.fromIr,
    createStreamDecoder: geminiStream.createDecoder,
    createStreamEncoder: (ctx) => geminiStream.createEncoder(ctx),
    parseUpstreamError: geminiErrors.parseUpstreamError,
    renderError: geminiErrors.renderError,
  },
};

export { TranslationError } from './ir.js';
export type * from './ir.js';
