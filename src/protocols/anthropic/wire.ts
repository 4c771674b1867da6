/**
 * Anthropic Messages API wire schemas (zod; types inferred). Objects are loose: the API adds fields over time.
 * Content blocks are validated one by one (see `request.ts`) so an unknown block type can be carried natively
 * while a malformed known block is rejected with its exact path.
 *
 * @see https://docs.anthropic.com/en/api/messages
 * @see https://docs.anthropic.com/en/docs/build-with-claude/streaming
 */
import { z } from 'zod';

/** `cache_control`. */
export const CacheControl = z.looseObject({ type: z.literal('ephemeral'), ttl: z.string().optional() });

/** `{type:"text"}` block. */
export const TextBlock = z.looseObject({ type: z.literal('text'), text: z.string(), cache_control: CacheControl.nullable().optional() });
export type TextBlock = z.infer<typeof TextBlock>;

const MediaSource = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('base64'), media_type: z.string(), data: z.string() }),
  z.looseObject({ type: z.literal('url'), url: z.string() }),
  z.looseObject({ type: z.literal('file'), file_id: z.string() }),
]);

/** `{type:"image"}` block. */
export const ImageBlock = z.looseObject({ type: z.literal('image'), source: MediaSource, cache_control: CacheControl.nullable().optional() });
export type ImageBlock = z.infer<typeof ImageBlock>;

/** `{type:"document"}` block (PDF / plain text / URL / Files API). */
export const DocumentBlock = z.looseObject({
  type: z.literal('document'),
  source: z.discriminatedUnion('type', [
    z.looseObject({ type: z.literal('base64'), media_type: z.string(), data: z.string() }),
    z.looseObject({ type: z.literal('text'), media_type: z.string(), data: z.string() }),
    z.looseObject({ type: z.literal('url'), url: z.string() }),
    z.looseObject({ type: z.literal('file'), file_id: z.string() }),
  ]),
  title: z.string().nullable().optional(),
  cache_control: CacheControl.nullable().optional(),
});
export type DocumentBlock = z.infer<typeof DocumentBlock>;

/** `{type:"tool_use"}` block. */
export const ToolUseBlock = z.looseObject({
  type: z.literal('tool_use'),
  id: z.string(),
  name: z.string(),
  input: z.unknown(),
  cache_control: CacheControl.nullable().optional(),
});

/** `{type:"tool_result"}` block. */
export const ToolResultBlock = z.looseObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string(),
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]).optional(),
  is_error: z.boolean().optional(),
  cache_control: CacheControl.nullable().optional(),
});

/** `{type:"thinking"}` block. */
export const ThinkingBlock = z.looseObject({ type: z.literal('thinking'), thinking: z.string(), signature: z.string().optional() });

/** `{type:"redacted_thinking"}` block. */
export const RedactedThinkingBlock = z.looseObject({ type: z.literal('redacted_thinking'), data: z.string() });

/** Any content block, before per-type validation. */
export const AnyBlock = z.looseObject({ type: z.string() });

/** A request message. */
export const Message = z.looseObject({
  role: z.enum(['user', 'assistant']),
  content: z.union([z.string(), z.array(AnyBlock)]),
});

/** A tool definition: a custom tool, or a server/client tool with its own `type`. */
export const Tool = z.looseObject({
  type: z.string().optional(),
  name: z.string(),
  description: z.string().optional(),
  input_schema: z.record(z.string(), z.unknown()).optional(),
  cache_control: CacheControl.nullable().optional(),
  strict: z.boolean().optional(),
});

/** `tool_choice`. */
export const ToolChoice = z.looseObject({
  type: z.enum(['auto', 'any', 'tool', 'none']),
  name: z.string().optional(),
  disable_parallel_tool_use: z.boolean().optional(),
});

/** `POST /v1/messages` body. */
export const MessagesRequest = z.looseObject({
  model: z.string(),
  messages: z.array(Message),
  system: z.union([z.string(), z.array(TextBlock)]).optional(),
  max_tokens: z.number().optional(),
  metadata: z.looseObject({ user_id: z.string().nullable().optional() }).optional(),
  stop_sequences: z.array(z.string()).optional(),
  stream: z.boolean().optional(),
  temperature: z.number().optional(),
  top_p: z.number().optional(),
  top_k: z.number().optional(),
  tools: z.array(Tool).optional(),
  tool_choice: ToolChoice.optional(),
  thinking: z.looseObject({ type: z.string(), budget_tokens: z.number().optional() }).optional(),
  output_config: z.looseObject({
    format: z.looseObject({ type: z.literal('json_schema'), schema: z.record(z.string(), z.unknown()) }).optional(),
  }).optional(),
});
export type MessagesRequest = z.infer<typeof MessagesRequest>;

/** `usage` on a message. */
export const Usage = z.looseObject({
  input_tokens: z.number().nullable().optional(),
  output_tokens: z.number().nullable().optional(),
  cache_creation_input_tokens: z.number().nullable().optional(),
  cache_read_input_tokens: z.number().nullable().optional(),
});

/** A non-streaming response (also the `message` of `message_start`). */
export const MessageResponse = z.looseObject({
  id: z.string(),
  type: z.literal('message'),
  role: z.literal('assistant'),
  model: z.string(),
  content: z.array(AnyBlock),
  stop_reason: z.string().nullable(),
  stop_sequence: z.string().nullable().optional(),
  usage: Usage,
});
export type MessageResponse = z.infer<typeof MessageResponse>;

/** One streamed event (the `data:` JSON; the SSE `event:` name equals `type`). */
export const StreamEvent = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('message_start'), message: MessageResponse }),
  z.looseObject({ type: z.literal('content_block_start'), index: z.number(), content_block: AnyBlock }),
  z.looseObject({
    type: z.literal('content_block_delta'),
    index: z.number(),
    delta: z.discriminatedUnion('type', [
      z.looseObject({ type: z.literal('text_delta'), text: z.string() }),
      z.looseObject({ type: z.literal('input_json_delta'), partial_json: z.string() }),
      z.looseObject({ type: z.literal('thinking_delta'), thinking: z.string() }),
      z.looseObject({ type: z.literal('signature_delta'), signature: z.string() }),
      z.looseObject({ type: z.literal('citations_delta') }),
    ]),
  }),
  z.looseObject({ type: z.literal('content_block_stop'), index: z.number() }),
  z.looseObject({
    type: z.literal('message_delta'),
    delta: z.looseObject({ stop_reason: z.string().nullable(), stop_sequence: z.string().nullable().optional() }),
    usage: Usage,
  }),
  z.looseObject({ type: z.literal('message_stop') }),
  z.looseObject({ type: z.literal('ping') }),
  z.looseObject({ type: z.literal('error'), error: z.looseObject({ type: z.string(), message: z.string() }) }),
]);
export type StreamEvent = z.infer<typeof StreamEvent>;

/** Error body. */
export const ErrorBody = z.looseObject({
  type: z.literal('error'),
  error: z.looseObject({ type: z.string(), message: z.string() }),
});
