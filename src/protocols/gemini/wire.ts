/**
 * Gemini `generateContent` wire schemas (zod; types inferred). The REST API accepts both camelCase and snake_case
 * field names (proto3 JSON mapping); request bodies are first normalised to camelCase by {@link normalizeRequest},
 * touching structural keys only (never function arguments, responses or schemas).
 *
 * @see https://ai.google.dev/api/generate-content
 * @see https://ai.google.dev/api/caching#Content
 */
import { z } from 'zod';
import { isRecord, type JsonObject } from '../util.js';

/** A content part (exactly one data field in practice; `thought`/`thoughtSignature` may accompany it). */
export const Part = z.looseObject({
  text: z.string().optional(),
  thought: z.boolean().optional(),
  thoughtSignature: z.string().optional(),
  inlineData: z.looseObject({ mimeType: z.string(), data: z.string() }).optional(),
  fileData: z.looseObject({ mimeType: z.string().optional(), fileUri: z.string() }).optional(),
  functionCall: z.looseObject({ name: z.string(), args: z.record(z.string(), z.unknown()).optional(), id: z.string().optional() }).optional(),
  functionResponse: z.looseObject({ name: z.string(), response: z.record(z.string(), z.unknown()).optional(), id: z.string().optional() }).optional(),
});
export type Part = z.infer<typeof Part>;

/** A conversation turn. */
export const Content = z.looseObject({
  role: z.string().optional(),
  parts: z.array(Part).optional(),
});
export type Content = z.infer<typeof Content>;

/** A function declaration. */
export const FunctionDeclaration = z.looseObject({
  name: z.string(),
  description: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  parametersJsonSchema: z.record(z.string(), z.unknown()).optional(),
});

/** `generationConfig`. */
export const GenerationConfig = z.looseObject({
  temperature: z.number().optional(),
  topP: z.number().optional(),
  topK: z.number().optional(),
  maxOutputTokens: z.number().optional(),
  stopSequences: z.array(z.string()).optional(),
  candidateCount: z.number().optional(),
  seed: z.number().optional(),
  presencePenalty: z.number().optional(),
  frequencyPenalty: z.number().optional(),
  responseMimeType: z.string().optional(),
  responseSchema: z.record(z.string(), z.unknown()).optional(),
  responseJsonSchema: z.record(z.string(), z.unknown()).optional(),
  thinkingConfig: z.looseObject({
    thinkingBudget: z.number().optional(),
    includeThoughts: z.boolean().optional(),
    thinkingLevel: z.string().optional(),
  }).optional(),
});

/** `generateContent` request body (the model is in the URL). */
export const GenerateRequest = z.looseObject({
  contents: z.array(Content),
  systemInstruction: Content.optional(),
  tools: z.array(z.looseObject({ functionDeclarations: z.array(FunctionDeclaration).optional() })).optional(),
  toolConfig: z.looseObject({
    functionCallingConfig: z.looseObject({
      mode: z.string().optional(),
      allowedFunctionNames: z.array(z.string()).optional(),
    }).optional(),
  }).optional(),
  generationConfig: GenerationConfig.optional(),
});
export type GenerateRequest = z.infer<typeof GenerateRequest>;

/** `usageMetadata`. */
export const UsageMetadata = z.looseObject({
  promptTokenCount: z.number().optional(),
  candidatesTokenCount: z.number().optional(),
  totalTokenCount: z.number().optional(),
  cachedContentTokenCount: z.number().optional(),
  thoughtsTokenCount: z.number().optional(),
  toolUsePromptTokenCount: z.number().optional(),
});

/** A response, and each chunk of a `streamGenerateContent?alt=sse` stream. */
export const GenerateResponse = z.looseObject({
  candidates: z.array(z.looseObject({
    content: Content.optional(),
    finishReason: z.string().optional(),
    index: z.number().optional(),
  })).optional(),
  promptFeedback: z.looseObject({ blockReason: z.string().optional() }).optional(),
  usageMetadata: UsageMetadata.optional(),
  modelVersion: z.string().optional(),
  responseId: z.string().optional(),
});
export type GenerateResponse = z.infer<typeof GenerateResponse>;

/** Error body (google.rpc.Status in JSON). */
export const ErrorBody = z.looseObject({
  error: z.looseObject({ code: z.number(), message: z.string(), status: z.string().optional() }),
});

function camel(key: string): string {
  if (!key.includes('_')) return key;
  return key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** Copies `obj` with its own keys camelCased (one level; values untouched). */
function camelKeys(obj: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(obj)) out[camel(k)] = v;
  return out;
}

function mapObj(x: unknown, f: (o: JsonObject) => JsonObject): unknown {
  return isRecord(x) ? f(camelKeys(x)) : x;
}

function mapArr(x: unknown, f: (o: JsonObject) => JsonObject): unknown {
  return Array.isArray(x) ? x.map((e) => mapObj(e, f)) : x;
}

const id = (o: JsonObject): JsonObject => o;

function normPart(p: JsonObject): JsonObject {
  if ('inlineData' in p) p['inlineData'] = mapObj(p['inlineData'], id);
  if ('fileData' in p) p['fileData'] = mapObj(p['fileData'], id);
  if ('functionCall' in p) p['functionCall'] = mapObj(p['functionCall'], id);
  if ('functionResponse' in p) p['functionResponse'] = mapObj(p['functionResponse'], id);
  return p;
}

function normContent(c: JsonObject): JsonObject {
  if ('parts' in c) c['parts'] = mapArr(c['parts'], normPart);
  return c;
}

function normTool(t: JsonObject): JsonObject {
  if ('functionDeclarations' in t) t['functionDeclarations'] = mapArr(t['functionDeclarations'], id);
  return t;
}

/** Renames snake_case structural keys of a request body to camelCase (user data inside is left alone). */
export function normalizeRequest(body: unknown): unknown {
  return mapObj(body, (b) => {
    if ('contents' in b) b['contents'] = mapArr(b['contents'], normContent);
    if ('systemInstruction' in b) b['systemInstruction'] = mapObj(b['systemInstruction'], normContent);
    if ('tools' in b) b['tools'] = mapArr(b['tools'], normTool);
    if ('toolConfig' in b) {
      b['toolConfig'] = mapObj(b['toolConfig'], (t) => {
        if ('functionCallingConfig' in t) t['functionCallingConfig'] = mapObj(t['functionCallingConfig'], id);
        return t;
      });
    }
    if ('generationConfig' in b) {
      b['generationConfig'] = mapObj(b['generationConfig'], (g) => {
        if ('thinkingConfig' in g) g['thinkingConfig'] = mapObj(g['thinkingConfig'], id);
        return g;
      });
    }
    return b;
  });
}
