/**
 * Streaming time to first byte: one keep-alive connection, one request at a time, timing from
 * sending the request to the first body chunk of the SSE response. The client is the same node:http
 * code for direct and gateway samples, so its own overhead cancels out in the difference.
 */
import { Agent, request } from 'node:http';

export interface TtfbSampler {
  /** Take `n` samples; returns first-byte times in milliseconds. */
  sample(n: number): Promise<number[]>;
  /** One whole response (status, content type, body), for the relay check. */
  fetchOnce(): Promise<{ status: number; contentType: string; body: string }>;
  close(): void;
}

export function createTtfbSampler(url: string, body: string, headers: Readonly<Record<string, string>>): TtfbSampler {
  const u = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const payload = Buffer.from(body);
  const reqHeaders = { ...headers, 'content-length': String(payload.length) };

  const once = (): Promise<{ ttfbMs: number; status: number; contentType: string; text: string }> =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      let ttfbMs = -1;
      const chunks: Buffer[] = [];
      const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers: reqHeaders }, (res) => {
        res.on('data', (c: Buffer) => {
          if (ttfbMs < 0) ttfbMs = performance.now() - t0;
          chunks.push(c);
        });
        res.on('end', () => resolve({
          ttfbMs,
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type'] ?? ''),
          text: Buffer.concat(chunks).toString('utf8'),
        }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });

  return {
    async sample(n) {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const r = await once();
        if (r.status !== 200 || r.ttfbMs < 0) throw new Error(`stream sample failed: status ${r.status} from ${url}`);
        out.push(r.ttfbMs);
      }
      return out;
    },
    async fetchOnce() {
      const r = await once();
      return { status: r.status, contentType: r.contentType, body: r.text };
    },
    close() {
      agent.destroy();
    },
  };
}

/** The `p`-th percentile (0-100) of `values`, nearest-rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}
