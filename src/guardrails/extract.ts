/**
 * The prompt text the guardrail text checks see (banned phrases, banned regexes, PII), extracted
 * once per request from the parsed JSON body, whatever the surface:
 *
 * - OpenAI chat `messages`, completions `prompt`/`suffix`, responses `input`/`instructions`,
 *   embeddings and moderations `input`, images `prompt`, speech `input`/`instructions`, rerank
 *   `query`/`documents`;
 * - Anthropic `system` and `messages` (text blocks, `tool_result` content, `tool_use` input, text
 *   documents);
 * - Gemini `contents`, `systemInstruction` / `system_instruction`, embed `content` and batch
 *   `requests[]`, and the `request` envelope of `/v1internal:*`.
 *
 * Under those keys every string value counts (message text, text parts, tool-call arguments, tool
 * results), except identifiers and markup (`type`, `role`, ids, names, MIME types) and binary or
 * remote media: base64 image/audio/file data, image and file URLs, `data:` URLs, encrypted
 * reasoning. Top-level settings (`model`, `temperature`, `metadata`, tool definitions…) are not
 * prompt text and are not scanned.
 */

/** Top-level keys that carry prompt text, on any surface. */
const PROMPT_KEYS = [
  'messages', 'prompt', 'suffix', 'input', 'instructions', 'system', 'query', 'documents',
  'contents', 'systemInstruction', 'system_instruction', 'content',
] as const;

/** Values under these keys are identifiers, markup or media, never prompt text. */
const SKIP_KEYS = new Set([
  'type', 'role', 'id', 'name', 'filename', 'tool_call_id', 'tool_use_id', 'call_id', 'file_id', 'status',
  'mime_type', 'mimeType', 'media_type', 'detail', 'format', 'cache_control', 'signature', 'encrypted_content',
  'image_url', 'input_audio', 'audio', 'url', 'file_url', 'file_data', 'b64_json',
  'inlineData', 'inline_data', 'fileData', 'file_uri', 'fileUri', 'video_metadata', 'videoMetadata',
]);

/**
 * Append the prompt strings of a JSON request body to `out`. Iterative (no recursion limit to hit on
 * deeply nested bodies) and allocation-light: strings are collected, joined and lower-cased once.
 */
export function collectPromptText(body: Record<string, unknown>, out: string[]): void {
  collectFrom(body, out);
  // Gemini's `/v1internal:*` envelope and `batchEmbedContents` carry the request one level down.
  const inner = body['request'];
  if (isObject(inner)) collectFrom(inner, out);
  const reqs = body['requests'];
  if (Array.isArray(reqs)) for (const r of reqs) if (isObject(r)) collectFrom(r, out);
}

function collectFrom(body: Record<string, unknown>, out: string[]): void {
  for (const key of PROMPT_KEYS) {
    const v = body[key];
    if (v !== undefined && v !== null) walk(v, out);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function walk(root: unknown, out: string[]): void {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (v.length > 0 && !v.startsWith('data:')) out.push(v);
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]);
    } else if (v !== null && typeof v === 'object') {
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj);
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i] as string;
        if (SKIP_KEYS.has(k)) continue;
        // `data` is text only in an Anthropic plain-text document source; elsewhere it is base64.
        if (k === 'data' && obj['type'] !== 'text') continue;
        stack.push(obj[k]);
      }
    }
  }
}

/** Join collected pieces into the one lower-cased string every text check runs on. */
export function joinPromptText(parts: readonly string[]): string {
  if (parts.length === 0) return '';
  if (parts.length === 1) return (parts[0] as string).toLowerCase();
  return parts.join('\n').toLowerCase();
}
