import { Writable } from 'node:stream';
import { defaultOptions, type CliOptions } from '../../src/cli/args.js';
import { makeEnvLookup } from '../../src/config/env.js';
import { loadConfigDocument } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { startGateway, type RunningGateway } from '../../src/server.js';
import type { GatewayDeps } from '../../src/gateway.js';

/** A gateway started in-process for a test, with its log lines captured. */
export interface TestGateway extends RunningGateway {
  /** Log lines written so far (JSON lines: the logger runs in JSON mode). */
  readonly logs: string[];
  /** Parsed JSON log events so far. */
  events(): Array<{ ts_ms: number; event: string; payload: Record<string, unknown> }>;
  close(): Promise<void>;
}

/**
 * Start a gateway on 127.0.0.1:0 from a config document (as it would appear in gateway.json) and
 * option overrides. Env placeholders resolve against `env` (default: process.env).
 */
export async function startTestGateway(
  config: unknown,
  overrides: Partial<CliOptions> = {},
  env: NodeJS.ProcessEnv = process.env,
  deps: GatewayDeps = {},
): Promise<TestGateway> {
  const loaded = loadConfigDocument(config, makeEnvLookup(env), { upstreams: overrides.upstreams ?? [] });
  const options: CliOptions = { ...defaultOptions(), listen: { host: '127.0.0.1', port: 0 }, ...overrides };
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(line);
      cb();
    },
  });
  const logger = createLogger({ json: true, destination: sink });
  const running = await startGateway(loaded.config, options, logger, deps);
  return {
    ...running,
    logs,
    events: () => logs.map((l) => JSON.parse(l) as { ts_ms: number; event: string; payload: Record<string, unknown> }),
    close: () => running.shutdown(0),
  };
}

/** Authorization header for a virtual key token. */
export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}
