/**
 * Every error the gateway itself can answer with, keyed by its wire `code` (CONTRACT §4.2, §7.1).
 * Statuses follow what openai-node's `APIError.generate` maps to exception classes, so SDK users
 * get the right exception. Tests check that every code here is documented in the README errors
 * table (test/unit/docs.test.ts) and matches the contract (test/unit/errors.test.ts).
 */
export const ERROR_CATALOG = {
  invalid_json: { status: 400, type: 'invalid_request_error' },
  invalid_request: { status: 400, type: 'invalid_request_error' },
  unsupported_idempotency: { status: 400, type: 'invalid_request_error' },
  cost_budget_unsupported_endpoint: { status: 400, type: 'invalid_request_error' },
  budget_exceeded: { status: 402, type: 'insufficient_quota' },
  cost_budget_exceeded: { status: 402, type: 'insufficient_quota' },
  invalid_api_key: { status: 401, type: 'authentication_error' },
  guardrail_rejected: { status: 403, type: 'policy_error' },
  route_not_found: { status: 404, type: 'invalid_request_error' },
  model_not_found: { status: 404, type: 'invalid_request_error' },
  not_configured: { status: 404, type: 'invalid_request_error' },
  request_too_large: { status: 413, type: 'invalid_request_error' },
  inflight_limit: { status: 429, type: 'rate_limit_error' },
  inflight_limit_backend: { status: 429, type: 'rate_limit_error' },
  inflight_limit_key: { status: 429, type: 'rate_limit_error' },
  rate_limited: { status: 429, type: 'rate_limit_error' },
  pricing_not_configured: { status: 500, type: 'api_error' },
  storage_error: { status: 500, type: 'api_error' },
  internal_error: { status: 500, type: 'api_error' },
  unsupported_endpoint: { status: 501, type: 'invalid_request_error' },
  backend_error: { status: 502, type: 'api_error' },
  backend_not_found: { status: 502, type: 'api_error' },
  invalid_backend_response: { status: 502, type: 'api_error' },
  invalid_responses_request: { status: 502, type: 'api_error' },
  upstream_failure: { status: 502, type: 'api_error' },
  shutting_down: { status: 503, type: 'api_error' },
  store_unavailable: { status: 503, type: 'api_error' },
  backend_timeout: { status: 504, type: 'api_error' },
} as const satisfies Record<string, { status: number; type: string }>;

/** A code from {@link ERROR_CATALOG}. */
export type ErrorCode = keyof typeof ERROR_CATALOG;
