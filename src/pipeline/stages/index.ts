import { admit } from './admit.js';
import { budget } from './budget.js';
import { rateLimit } from './rate-limit.js';
import { authenticate } from './authenticate.js';
import { forward } from './forward.js';
import { guardrails } from './guardrails.js';
import { listModels } from './list-models.js';
import { noopStage } from './noop.js';
import { parseBody } from './parse-body.js';
import { readBody } from './read-body.js';
import { healthFilter, route } from './route.js';
import { observe } from '../finalizers/observe.js';
import { audit } from '../finalizers/audit.js';
import { settle } from '../finalizers/settle.js';
import { releasePermits } from '../finalizers/release-permits.js';
import { anthropicRequest } from '../../surfaces/anthropic.js';
import { countTokens } from '../../surfaces/count-tokens.js';
import { geminiRequest, type GeminiRoute } from '../../surfaces/gemini.js';
import { PROXY_STAGES, FINALIZERS, type Finalizer, type Stage, type StageName, type FinalizerName } from '../run.js';

/** The implementation of every named stage. A later issue swaps a no-op for its real stage here. */
const STAGE_IMPL: Record<StageName, Stage> = {
  authenticate,
  admit,
  read_body: readBody,
  parse_body: parseBody,
  guardrails,
  route,
  rate_limit: rateLimit,
  budget,
  dedup: noopStage('dedup'),
  health_filter: healthFilter,
  cache_lookup: noopStage('cache_lookup'),
  forward,
};

const FINALIZER_IMPL: Record<FinalizerName, Finalizer | undefined> = {
  release_permits: releasePermits,
  settle,
  cache_store: undefined,
  audit,
  observe,
};

/** The `/v1/*` proxy lifecycle, in {@link PROXY_STAGES} order. */
export const proxyStages: readonly Stage[] = PROXY_STAGES.map((n) => STAGE_IMPL[n]);

/** The proxy lifecycle with a client surface's request mapping right after `parse_body` (CONTRACT §3.7, §3.8). */
function withSurface(stage: Stage): readonly Stage[] {
  const i = PROXY_STAGES.indexOf('parse_body') + 1;
  return [...proxyStages.slice(0, i), stage, ...proxyStages.slice(i)];
}

/** `POST /v1/messages`: the Anthropic surface on the proxy lifecycle. */
export const anthropicStages: readonly Stage[] = withSurface(anthropicRequest);

/** `POST /v1beta/models/{m}:generateContent` and friends: the Gemini surface for one parsed path. */
export function geminiStages(r: GeminiRoute): readonly Stage[] {
  return withSurface(geminiRequest(r));
}

/** `POST /v1/messages/count_tokens`: local estimate, no upstream. */
export const countTokensStages: readonly Stage[] = [countTokens];

/** `GET /v1/models`: authenticate, then list. */
export const modelsStages: readonly Stage[] = [authenticate, listModels];

/** Finalizers, in {@link FINALIZERS} order. */
export const finalizers: readonly Finalizer[] = FINALIZERS.map((n) => FINALIZER_IMPL[n]).filter((f): f is Finalizer => f !== undefined);
