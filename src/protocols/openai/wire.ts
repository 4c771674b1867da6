/**
 * OpenAI Chat Completions wire schemas (zod; types inferred). Objects are loose: providers and newer API versions add
 * fields, and unknown request fields are kept for same-protocol re-emission (`IrRequest.extra`).
 * Field names follow openai-node `src/resources/chat/completions/completions.ts`.
 *
 * @see https://platform.openai.com/docs/api-reference/chat/create
 * @see https://platform.openai.com/docs/api-reference/chat/streaming
 */
import { z } from 'zod';

const NullableString = z.string().nullable().optional();
const NullableNumber = z.number().nullable().optional();

/** `{type:"text", text}` content part. */
export const TextPart = z.looseObject({ type: z.literal('text'), text: z.string() });

/** User content parts. */
export const UserContentPart = z.discriminatedUnion('type', [
  TextPart,
  z.looseObject({
    type: z.literal('image_url'),
    image_url: z.looseObject({ url: z.string(), detail: z.enum(['auto', 'low', 'high']).optional() }),
  }),
  z.looseObject({
    type: z.literal('input_audio'),
    input_audio: z.looseObject({ data: z.string(), format: z.string() }),
  }),
  z.looseObject({
    type: z.literal('file'),
    file: z.looseObject({ file_data: z.string().optional(), file_id: z.string().optional(), filename: z.string().optional() }),
  }),
]);
export type UserContentPart = z.infer<typeof UserContentPart>;

/** A tool call inside an assistant message. */
export const ToolCall = z.looseObject({
  id: z.string(),
  type: z.literal('function').optional(),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
  /** Google's OpenAI-compatible carrier for Gemini thought signatures. */
  extra_content: z.looseObject({ google: z.looseObject({ thought_signature: z.string().optional() }).optional() }).optional(),
});
export type ToolCall = z.infer<typeof ToolCall>;

/** LiteLLM-style reasoning blocks on assistant messages (keeps Anthropic signatures across OpenAI clients). */
export const ThinkingBlock = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('thinking'), thinking: z.string(), signature: z.string().optional() }),
  z.looseObject({ type: z.literal('redacted_thinking'), data: z.string() }),
]);

const TextContent = z.union([z.string(), z.array(TextPart)]);

/** One request message. */
export const Message = z.discriminatedUnion('role', [
  z.looseObject({ role: z.literal('system'), content: TextContent, name: z.string().optional() }),
  z.looseObject({ role: z.literal('developer'), content: TextContent, name: z.string().optional() }),
  z.looseObject({ role: z.literal('user'), content: z.union([z.string(), z.array(UserContentPart)]), name: z.string().optional() }),
  z.looseObject({
    role: z.literal('assistant'),
    content: z.union([
      z.string(),
      z.array(z.discriminatedUnion('type', [TextPart, z.looseObject({ type: z.literal('refusal'), refusal: z.string() })])),
    ]).nullable().optional(),
    refusal: NullableString,
    name: z.string().optional(),
    tool_calls: z.array(ToolCall).nullable().optional(),
    reasoning_content: NullableString,
    thinking_blocks: z.array(ThinkingBlock).nullable().optional(),
  }),
  z.looseObject({ role: z.literal('tool'), content: TextContent, tool_call_id: z.string() }),
]);
export type Message = z.infer<typeof Message>;

/** A function tool definition. */
export const Tool = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({
    name: z.string(),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullable().optional(),
  }),
});

/** `tool_choice`. */
export const ToolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) }),
]);

/** `response_format`. */
export const ResponseFormat = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    json_schema: z.looseObject({
      name: z.string().optional(),
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullable().optional(),
    }),
  }),
]);

/** `POST /v1/chat/completions` body. */
export const ChatRequest = z.looseObject({
  model: z.string(),
  messages: z.array(Message),
  tools: z.array(Tool).nullable().optional(),
  tool_choice: ToolChoice.nullable().optional(),
  parallel_tool_calls: z.boolean().nullable().optional(),
  response_format: ResponseFormat.nullable().optional(),
  max_tokens: NullableNumber,
  max_completion_tokens: NullableNumber,
  temperature: NullableNumber,
  top_p: NullableNumber,
  stop: z.union([z.string(), z.array(z.string())]).nullable().optional(),
  seed: NullableNumber,
  presence_penalty: NullableNumber,
  frequency_penalty: NullableNumber,
  n: NullableNumber,
  reasoning_effort: NullableString,
  user: z.string().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
});
export type ChatRequest = z.infer<typeof ChatRequest>;

/** `usage` on responses and on the final stream chunk. */
export const Usage = z.looseObject({
  prompt_tokens: z.number(),
  completion_tokens: z.number(),
  total_tokens: z.number(),
  prompt_tokens_details: z.looseObject({ cached_tokens: z.number().optional(), audio_tokens: z.number().optional() }).nullable().optional(),
  completion_tokens_details: z.looseObject({ reasoning_tokens: z.number().optional() }).nullable().optional(),
});
export type Usage = z.infer<typeof Usage>;

/** A non-streaming response. */
export const ChatResponse = z.looseObject({
  id: z.string(),
  object: z.literal('chat.completion'),
  created: z.number(),
  model: z.string(),
  choices: z.array(z.looseObject({
    index: z.number(),
    message: z.looseObject({
      role: z.literal('assistant'),
      content: z.string().nullable().optional(),
      refusal: NullableString,
      tool_calls: z.array(ToolCall).nullable().optional(),
      reasoning_content: NullableString,
      thinking_blocks: z.array(ThinkingBlock).nullable().optional(),
    }),
    finish_reason: z.string().nullable(),
    logprobs: z.unknown().optional(),
  })),
  usage: Usage.nullable().optional(),
});
export type ChatResponse = z.infer<typeof ChatResponse>;

/** One `chat.completion.chunk` stream event. */
export const ChatChunk = z.looseObject({
  id: z.string(),
  object: z.literal('chat.completion.chunk'),
  created: z.number(),
  model: z.string(),
  choices: z.array(z.looseObject({
    index: z.number(),
    delta: z.looseObject({
      role: z.literal('assistant').optional(),
      content: NullableString,
      reasoning_content: NullableString,
      tool_calls: z.array(z.looseObject({
        index: z.number(),
        id: z.string().optional(),
        type: z.literal('function').optional(),
        function: z.looseObject({ name: z.string().optional(), arguments: z.string().optional() }).optional(),
      })).optional(),
    }),
    finish_reason: z.string().nullable(),
  })),
  usage: Usage.nullable().optional(),
});
export type ChatChunk = z.infer<typeof ChatChunk>;

/** Error body. */
export const ErrorBody = z.looseObject({
  error: z.looseObject({
    message: z.string(),
    type: z.string().nullable().optional(),
    param: z.string().nullable().optional(),
    code: z.union([z.string(), z.number()]).nullable().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
