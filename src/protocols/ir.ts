/**
 * The canonical intermediate representation (IR) every protocol translates through (STYLE §3.1, §3.4 item 6).
 * A converter maps one wire format ⇄ IR; no converter ever maps one provider's wire format to another's.
 *
 * Conventions:
 * - The IR is plain JSON-serialisable data (golden files hold it verbatim); optional fields are omitted, not `undefined`.
 * - Nothing here reads a clock or makes ids: whatever a wire format needs (`created`, ids) is passed in by the caller.
 * - A field one side cannot carry is either rejected with a {@link TranslationError} naming the parameter (the caller
 *   answers 400) or dropped and reported in the conversion's `warnings`; never silently (issue 4 item 5).
 */

/** The wire formats the gateway speaks. */
export type ProtocolId = 'openai' | 'anthropic' | 'gemini';

/** Prompt-caching hint on a block (Anthropic `cache_control`). Carried only by protocols that have it. */
export interface IrCacheControl {
  type: 'ephemeral';
  /** Anthropic `ttl`, e.g. `"5m"` or `"1h"`. */
  ttl?: string;
}

/** A fragment of another protocol's wire format with no IR equivalent: re-emitted verbatim to the same protocol only. */
export interface IrNativePart {
  type: 'native';
  protocol: ProtocolId;
  value: unknown;
}

/** Text. */
export interface IrTextPart {
  type: 'text';
  text: string;
  cacheControl?: IrCacheControl;
  /** Gemini `thoughtSignature` attached to this part (opaque, Gemini-only). */
  signature?: string;
}

/** Where binary content lives. */
export type IrMediaSource =
  | { kind: 'url'; url: string }
  | { kind: 'base64'; mediaType: string; data: string }
  | { kind: 'file_id'; fileId: string };

/** An image input. */
export interface IrImagePart {
  type: 'image';
  source: IrMediaSource;
  /** OpenAI `image_url.detail`. */
  detail?: 'auto' | 'low' | 'high';
  cacheControl?: IrCacheControl;
}

/** A document, audio clip or other file input (PDF, plain text, audio). */
export interface IrFilePart {
  type: 'file';
  source: IrMediaSource;
  /** Media type when the source does not carry one (URL and file-id sources). */
  mediaType?: string;
  filename?: string;
  cacheControl?: IrCacheControl;
}

/** Model reasoning. `signature` is the provider's opaque proof (Anthropic `signature`, Gemini `thoughtSignature`). */
export interface IrThinkingPart {
  type: 'thinking';
  text: string;
  signature?: string;
}

/** Encrypted reasoning (Anthropic `redacted_thinking`). */
export interface IrRedactedThinkingPart {
  type: 'redacted_thinking';
  data: string;
}

/** A call the model made. `arguments` is JSON text, as the model produced it. */
export interface IrToolCallPart {
  type: 'tool_call';
  id: string;
  name: string;
  arguments: string;
  /** Gemini `thoughtSignature` on the `functionCall` part. */
  signature?: string;
  cacheControl?: IrCacheControl;
}

/** The caller's answer to a tool call. */
export interface IrToolResultPart {
  type: 'tool_result';
  toolCallId: string;
  /** Function name, when the source protocol states it (Gemini needs it; it is otherwise looked up by id). */
  name?: string;
  content: Array<IrTextPart | IrImagePart | IrNativePart>;
  isError?: boolean;
  cacheControl?: IrCacheControl;
}

/** Parts a user turn may hold. */
export type IrUserPart = IrTextPart | IrImagePart | IrFilePart | IrNativePart;
/** Parts an assistant turn may hold. */
export type IrAssistantPart = IrTextPart | IrThinkingPart | IrRedactedThinkingPart | IrToolCallPart | IrNativePart;

/** One conversation turn. A `system` message appears here only after the conversation started (else it is in `system`). */
export type IrMessage =
  | { role: 'system'; content: IrTextPart[] }
  | { role: 'user'; content: IrUserPart[] }
  | { role: 'assistant'; content: IrAssistantPart[] }
  | { role: 'tool'; content: IrToolResultPart[] };

/** A function the model may call. `parameters` is a JSON Schema object. */
export interface IrFunctionTool {
  type: 'function';
  name: string;
  description?: string;
  parameters: Record<string, unknown>;
  strict?: boolean;
  cacheControl?: IrCacheControl;
}

/** A provider-hosted tool (Anthropic web search, Gemini `googleSearch`, …): only its own protocol can carry it. */
export interface IrProviderTool {
  type: 'provider';
  protocol: ProtocolId;
  value: unknown;
}

/** A tool definition. */
export type IrTool = IrFunctionTool | IrProviderTool;

/** Which tool the model must (or must not) call. */
export type IrToolChoice = 'auto' | 'none' | 'required' | { name: string };

/** Output format constraint. `schema` is a JSON Schema object. */
export type IrResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name?: string; description?: string; schema: Record<string, unknown>; strict?: boolean };

/** OpenAI-style reasoning effort. */
export type IrReasoningEffort = 'minimal' | 'low' | 'medium' | 'high';

/** Extended thinking / reasoning request. */
export type IrThinking =
  | { type: 'enabled'; budgetTokens?: number; effort?: IrReasoningEffort; includeThoughts?: boolean }
  | { type: 'disabled' };

/** A chat request in canonical form. */
export interface IrRequest {
  model: string;
  system: IrTextPart[];
  messages: IrMessage[];
  tools?: IrTool[];
  toolChoice?: IrToolChoice;
  parallelToolCalls?: boolean;
  responseFormat?: IrResponseFormat;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  stop?: string[];
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  thinking?: IrThinking;
  /** End-user id (OpenAI `user`, Anthropic `metadata.user_id`). */
  user?: string;
  /** Free-form request metadata (OpenAI `metadata`). */
  metadata?: Record<string, string>;
  stream: boolean;
  /** The client asked for a final usage chunk (OpenAI `stream_options.include_usage`). */
  streamIncludeUsage?: boolean;
  /** Top-level fields of the source protocol with no IR equivalent: re-emitted to the same protocol, else warned. */
  extra?: { protocol: ProtocolId; fields: Record<string, unknown> };
}

/** Why generation stopped. `native` keeps the exact source value so the same protocol can re-emit it. */
export interface IrFinish {
  reason: IrFinishReason;
  native?: { protocol: ProtocolId; value: string };
  /** The stop sequence that fired, when the provider says which. */
  stopSequence?: string;
}

/** Canonical finish reasons. */
export type IrFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'error' | 'other';

/**
 * Token usage, normalised once (vercel/ai `convert-*-usage.ts` shape). `total` input includes cached tokens;
 * `total` output includes reasoning. Any count a provider does not report is omitted. `raw` is the provider's object.
 */
export interface IrUsage {
  inputTokens: { total?: number; noCache?: number; cacheRead?: number; cacheWrite?: number };
  outputTokens: { total?: number; text?: number; reasoning?: number };
  raw?: Record<string, unknown>;
}

/** Parts a (non-streaming) response may hold. */
export type IrResponsePart = IrTextPart | IrThinkingPart | IrRedactedThinkingPart | IrToolCallPart | IrNativePart;

/** A complete (non-streaming) response in canonical form. */
export interface IrResponse {
  id?: string;
  model?: string;
  /** Unix seconds. */
  created?: number;
  content: IrResponsePart[];
  finish: IrFinish;
  usage?: IrUsage;
}

/** Coarse error classes every protocol can express. */
export type IrErrorKind =
  | 'invalid_request' | 'authentication' | 'permission' | 'not_found' | 'request_too_large'
  | 'rate_limit' | 'timeout' | 'overloaded' | 'server';

/** A provider error in canonical form: the HTTP status to answer with and a message safe to show the client. */
export interface IrError {
  status: number;
  kind: IrErrorKind;
  message: string;
  /** Provider's own error type/status string (`overloaded_error`, `RESOURCE_EXHAUSTED`, …). */
  providerType?: string;
  code?: string;
  param?: string;
}

/**
 * One streamed event. A decoder emits, in order: `start`; any number of content and `usage` events; then exactly one
 * terminal event, `finish` (preceded by the final `usage` snapshot, when there is one) or `error`.
 * A `usage` event is a cumulative snapshot; a later one replaces an earlier one.
 * Tool-call `index` counts tool calls within the response (0, 1, …); argument deltas may interleave across indexes.
 */
export type IrStreamEvent =
  | { type: 'start'; id?: string; model?: string; created?: number }
  | { type: 'text_delta'; text: string; signature?: string }
  | { type: 'thinking_delta'; text: string }
  | { type: 'thinking_signature'; signature: string }
  | { type: 'redacted_thinking'; data: string }
  | { type: 'tool_call_start'; index: number; id: string; name: string; signature?: string }
  | { type: 'tool_call_delta'; index: number; argumentsDelta: string }
  | { type: 'tool_call_end'; index: number }
  | { type: 'usage'; usage: IrUsage }
  | { type: 'finish'; finish: IrFinish }
  | { type: 'error'; error: IrError };

/** The result of a conversion: a value plus a warning for each field that was dropped. */
export interface Converted<T> {
  value: T;
  warnings: string[];
}

/**
 * A request the target protocol cannot express (or a malformed source request). `param` names the client's parameter;
 * the pipeline answers 400 `invalid_request_error` with this `param` (STYLE §3.4 item 8).
 */
export class TranslationError extends Error {
  constructor(readonly param: string, message: string) {
    super(message);
    this.name = 'TranslationError';
  }
}

/** Values the caller supplies when encoding a response or stream (protocols never read the clock or make ids). */
export interface EncodeContext {
  /** Fallback id when the IR carries none. */
  id: string;
  /** Fallback model when the IR carries none. */
  model: string;
  /** Unix seconds, for formats that carry a creation time. */
  created: number;
}

/** Upstream bytes → IR events. `end()` flushes at end of input and guarantees a terminal event. */
export interface StreamDecoder {
  push(chunk: Uint8Array): IrStreamEvent[];
  end(): IrStreamEvent[];
}

/** IR events → client SSE frames (each string is one or more complete frames). */
export interface StreamEncoder {
  push(event: IrStreamEvent): string[];
  end(): string[];
}

/** Options every stream decoder takes. */
export interface DecoderOptions {
  /** Largest single SSE event accepted (default 16 MiB). */
  maxEventBytes?: number;
  /** Prefix for tool-call ids a format does not provide (Gemini): `<prefix><n>`. Default `call_`. */
  toolCallIdPrefix?: string;
}

/** The error an undecodable stream produces. */
export function streamProtocolError(message: string): IrError {
  return { status: 502, kind: 'server', message };
}
