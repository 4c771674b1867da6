/**
 * In-process counters behind `GET /metrics` (CONTRACT §3.2). Plain integers incremented on the
 * hot path; the Prometheus exposition (a later issue) reads from the finalizers, not from here.
 */
export class Counters {
  /** Authenticated proxy/MCP/A2A/gateway requests. */
  requests = 0;
  cache_hits = 0;
  rate_limited = 0;
  guardrail_blocked = 0;
  budget_exceeded = 0;
  /** Upstream attempts. */
  backend_calls = 0;

  snapshot(): Record<string, number> {
    return {
      requests: this.requests,
      cache_hits: this.cache_hits,
      rate_limited: this.rate_limited,
      guardrail_blocked: this.guardrail_blocked,
      budget_exceeded: this.budget_exceeded,
      backend_calls: this.backend_calls,
    };
  }
}
