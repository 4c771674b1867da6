import type { CompiledGuardrails, ModelPattern } from './compile.js';
import { piiRegexMatchers } from './compile.js';
import { MATCHED, NO_MATCH, OVER_BUDGET, type LinearMatcher, type ScanBudget } from './regex/automaton.js';
import { collectPromptText, joinPromptText } from './extract.js';
import { multipartBoundary, parseMultipart, type MultipartPart } from './multipart.js';
import { containsCardNumber } from './pii.js';
import { schemaViolation } from './schema.js';

/** What the guardrails stage knows about a request when it runs (CONTRACT §3.3 steps 1-6). */
export interface GuardrailFacts {
  readonly method: string;
  /** Normalised path (`/v1/...`, `/v1beta/models/...`). */
  readonly path: string;
  /** The requested model (body `model`, `/v1/models/{id}`, or the Gemini path's model). */
  readonly model?: string | undefined;
  /** Hot-path input estimate, `ceil(body_bytes / 4)`; defaults to that of `rawBody`. */
  readonly inputTokenEstimate?: number | undefined;
  /** The parsed body when it was a JSON object. */
  readonly json?: Record<string, unknown> | undefined;
  /** The buffered body (absent when it was streamed upstream unbuffered). */
  readonly rawBody?: Buffer | undefined;
  readonly contentType?: string | undefined;
}

/** A refusal: 403 `guardrail_rejected`, or 400 `invalid_request` for the schema check. */
export interface GuardrailRejection {
  readonly status: 403 | 400;
  readonly code: 'guardrail_rejected' | 'invalid_request';
  /** `deny_model:<p>`, `model_not_allowed:<m>`, `input_tokens><n>`, `banned_phrase:<p>`, `banned_regex:<p>`, `pii:email|ssn|card`; for schema, the message. */
  readonly reason: string;
  readonly message: string;
}

/** POST endpoints that pick a model (a default one when none is named): an allow-list needs one named. */
const MODEL_ENDPOINTS = new Set([
  '/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/responses', '/v1/responses/compact',
  '/v1/moderations', '/v1/images/generations', '/v1/images/edits', '/v1/images/variations', '/v1/audio/speech',
  '/v1/audio/transcriptions', '/v1/audio/translations', '/v1/rerank', '/v1/videos', '/v1/messages',
]);

/** Form fields of an upload that are identifiers, not text. */
const UPLOAD_ID_FIELDS = new Set(['model', 'purpose']);

/**
 * NFA node visits one request's regex checks may spend on DFA cache misses (about 20 ns each, so
 * some 40-50 ms on a slow core). Ordinary patterns run from the cache and never come near it; only
 * crafted text against a pattern whose automaton explodes does (see {@link ScanBudget}).
 */
export const CHECK_BUDGET_STEPS = 2_000_000;
/**
 * The combined "anything at all?" pre-pass gets its own small allowance: the product automaton of
 * many patterns can outgrow the cache where each pattern alone does not, and then the per-pattern
 * scans decide (with {@link CHECK_BUDGET_STEPS}) instead of a refusal.
 */
const PREPASS_BUDGET_STEPS = 400_000;

/** Refusal reason when the prompt could not be inspected within {@link CHECK_BUDGET_STEPS}. */
export const INSPECTION_LIMIT = 'inspection_limit';

function reject(reason: string): GuardrailRejection {
  return { status: 403, code: 'guardrail_rejected', reason, message: `guardrail rejected: ${reason}` };
}

/**
 * Run a request through one compiled `guardrails` object in CONTRACT §4.12's order:
 * `deny_models` → `allow_models` → `max_input_tokens` → `validate_schema` → `banned_phrases` →
 * `banned_regexes` → `block_pii`. Returns the first violation, or undefined. Synchronous and
 * linear in the body size.
 */
export function checkGuardrails(g: CompiledGuardrails, f: GuardrailFacts): GuardrailRejection | undefined {
  if (!g.active) return undefined;
  const upload = new Upload(f);

  if (g.denyModels.length > 0 || g.allowModels.length > 0) {
    const model = f.model ?? upload.field('model');
    // A JSON body has no upload parts, so no batch lines: skip building the list.
    const batch = f.json === undefined ? upload.batchModels() : NO_MODELS;
    const models = model === undefined ? batch : batch.length === 0 ? [model] : [model, ...batch];
    for (const m of models) {
      const hit = firstMatch(g.denyModels, m.trim().toLowerCase());
      if (hit !== undefined) return reject(`deny_model:${hit.raw}`);
    }
    if (g.allowModels.length > 0) {
      if (model === undefined && f.method === 'POST' && MODEL_ENDPOINTS.has(f.path)) return reject('model_not_allowed:(none)');
      for (const m of models) if (firstMatch(g.allowModels, m) === undefined) return reject(`model_not_allowed:${m}`);
    }
  }

  if (g.maxInputTokens !== undefined) {
    const estimate = f.inputTokenEstimate ?? Math.ceil((f.rawBody?.length ?? 0) / 4);
    if (estimate > g.maxInputTokens) return reject(`input_tokens>${g.maxInputTokens}`);
  }

  if (g.validateSchema) {
    const msg = schemaViolation(f.method, f.path, f.json, upload.parts());
    if (msg !== undefined) return { status: 400, code: 'invalid_request', reason: msg, message: msg };
  }

  if (!g.hasTextRules) return undefined;
  const text = promptText(f, upload);
  if (text.length === 0) return undefined;
  // The literal prefilter answers "certainly nothing" for most prompts without the automaton; else
  // one automaton pass answers "anything at all?"; only then find which rule, in order.
  if (g.prefilter !== undefined && !g.prefilter.mayMatch(text)) return undefined;
  const any = g.combined?.scan(text, { steps: PREPASS_BUDGET_STEPS }) ?? OVER_BUDGET;
  if (any === NO_MATCH) return undefined;
  for (const p of g.phrases) if (text.includes(p.lower)) return reject(`banned_phrase:${p.raw}`);
  // Fail closed: text that exhausts the budget is refused rather than let through unchecked.
  const budget: ScanBudget = { steps: CHECK_BUDGET_STEPS };
  const scan = (m: LinearMatcher, reason: string): GuardrailRejection | undefined => {
    const r = m.scan(text, budget);
    return r === NO_MATCH ? undefined : reject(r === MATCHED ? reason : INSPECTION_LIMIT);
  };
  for (const r of g.regexes) {
    const hit = scan(r.matcher, `banned_regex:${r.raw}`);
    if (hit !== undefined) return hit;
  }
  if (g.blockPii) {
    const pii = piiRegexMatchers();
    const hit = scan(pii.email, 'pii:email') ?? scan(pii.ssn, 'pii:ssn');
    if (hit !== undefined) return hit;
  }
  if (g.blockPii && containsCardNumber(text)) return reject('pii:card');
  return undefined;
}

function matches(p: ModelPattern, model: string): boolean {
  return p.prefix !== undefined ? model.startsWith(p.prefix) : model === p.exact;
}

const NO_MODELS: readonly string[] = [];

/** The first pattern of `patterns` that `model` matches (a plain loop: no closure per request). */
function firstMatch(patterns: readonly ModelPattern[], model: string): ModelPattern | undefined {
  for (const p of patterns) if (matches(p, model)) return p;
  return undefined;
}

/** The prompt text of the request, lower-cased, as one string (pieces joined by newlines). */
function promptText(f: GuardrailFacts, upload: Upload): string {
  const pieces: string[] = [];
  if (f.json !== undefined) collectPromptText(f.json, pieces);
  else if (upload.parts() !== undefined) upload.collectText(pieces);
  else if (f.rawBody !== undefined && f.rawBody.length > 0 && isTextual(f.contentType)) pieces.push(f.rawBody.toString('utf8'));
  return joinPromptText(pieces);
}

/**
 * Bodies of unknown or textual type are scanned as text (fail closed); declared binary media is not.
 * A multipart body that does not parse lands here too and is scanned raw.
 */
function isTextual(contentType: string | undefined): boolean {
  if (contentType === undefined || contentType === '') return true;
  const ct = contentType.toLowerCase();
  return !(ct.startsWith('audio/') || ct.startsWith('image/') || ct.startsWith('video/') ||
    ct.startsWith('application/octet-stream') || ct.startsWith('application/pdf') || ct.startsWith('application/zip'));
}

function isTextFile(part: MultipartPart): { jsonl: boolean } | undefined {
  const ct = part.contentType ?? '';
  const name = (part.filename ?? '').toLowerCase();
  if (ct.includes('jsonl') || ct.includes('ndjson') || name.endsWith('.jsonl')) return { jsonl: true };
  if (ct.startsWith('text/') || ct.includes('json') || /\.(txt|json|md|csv)$/.test(name)) return { jsonl: false };
  return undefined;
}

/** Lazily parsed view of a multipart body, shared by the model, schema and text checks. */
class Upload {
  readonly #f: GuardrailFacts;
  #parts: MultipartPart[] | undefined | null = null;
  #models: string[] | undefined;

  constructor(f: GuardrailFacts) {
    this.#f = f;
  }

  /** The parts, or undefined when the body is not (well-formed) multipart. */
  parts(): readonly MultipartPart[] | undefined {
    if (this.#parts === null) {
      const body = this.#f.rawBody;
      const boundary = this.#f.json === undefined && body !== undefined ? multipartBoundary(this.#f.contentType) : undefined;
      this.#parts = boundary === undefined || body === undefined ? undefined : parseMultipart(body, boundary);
    }
    return this.#parts;
  }

  #text(p: MultipartPart): string {
    return (this.#f.rawBody as Buffer).toString('utf8', p.start, p.end);
  }

  /** A short form field's value (e.g. the `model` of an audio upload). */
  field(name: string): string | undefined {
    const p = this.parts()?.find((x) => x.name === name && x.filename === undefined);
    return p !== undefined && p.end - p.start <= 1024 ? this.#text(p) : undefined;
  }

  /** `body.model` of each line of an uploaded JSONL batch file: a batch must not reach a denied model. */
  batchModels(): readonly string[] {
    if (this.#models === undefined) {
      const models: string[] = [];
      this.#eachBatchLine((_line, body) => {
        const m = body?.['model'];
        if (typeof m === 'string') models.push(m);
      });
      this.#models = models;
    }
    return this.#models;
  }

  /** Text fields, textual files, and the prompt text of each request line in a JSONL batch file. */
  collectText(out: string[]): void {
    for (const p of this.parts() ?? []) {
      if (p.filename === undefined) {
        if (!UPLOAD_ID_FIELDS.has(p.name)) out.push(this.#text(p));
      } else {
        const kind = isTextFile(p);
        if (kind !== undefined && !kind.jsonl) out.push(this.#text(p));
      }
    }
    this.#eachBatchLine((line, body) => {
      if (body !== undefined) collectPromptText(body, out);
      else out.push(line);
    });
  }

  #eachBatchLine(visit: (line: string, body: Record<string, unknown> | undefined) => void): void {
    for (const p of this.parts() ?? []) {
      if (p.filename === undefined || isTextFile(p)?.jsonl !== true) continue;
      for (const raw of this.#text(p).split('\n')) {
        const line = raw.trim();
        if (line === '') continue;
        let body: Record<string, unknown> | undefined;
        try {
          const v: unknown = JSON.parse(line);
          const b = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)['body'] : undefined;
          if (typeof b === 'object' && b !== null && !Array.isArray(b)) body = b as Record<string, unknown>;
        } catch {
          // not JSON: scanned as plain text
        }
        visit(line, body);
      }
    }
  }
}
