import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CliOptions } from './cli/args.js';
import type { ConfigFile } from './config/schema.js';
import { Gateway, type GatewayDeps } from './gateway.js';
import { createHandler } from './app.js';
import { createHttpServer } from './http/server.js';
import type { Logger } from './observability/logger.js';

/** A running gateway. */
export interface RunningGateway {
  readonly gw: Gateway;
  readonly server: Server;
  /** `http://host:port` as bound. */
  readonly url: string;
  readonly address: string;
  /**
   * Graceful stop (CONTRACT §7.4): stop accepting, let in-flight requests and streams finish for up to
   * `graceMs`, then close what is left. Resolves when everything is closed.
   */
  shutdown(graceMs?: number): Promise<void>;
}

/** Build the gateway, bind, and start background work. */
export async function startGateway(config: ConfigFile, options: CliOptions, logger: Logger, deps: GatewayDeps = {}): Promise<RunningGateway> {
  const gw = new Gateway(config, options, logger, deps);
  let active = 0;
  let idle: (() => void) | undefined;
  const handler = createHandler(gw);
  const server = createHttpServer((req, res) => {
    active++;
    res.once('close', () => {
      if (--active === 0 && idle) idle();
      // While draining, a keep-alive connection whose response just ended must not take new requests.
      else if (gw.draining) setImmediate(() => server.closeIdleConnections());
    });
    if (gw.draining) res.shouldKeepAlive = false;
    handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listen.port, options.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  gw.start();
  const a = server.address() as AddressInfo;
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  const address = `${host}:${a.port}`;
  let stopping: Promise<void> | undefined;
  const shutdown = (graceMs = options.shutdownGraceSecs * 1000): Promise<void> => {
    stopping ??= (async () => {
      gw.draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (active > 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, graceMs);
          idle = () => { clearTimeout(t); resolve(); };
        });
      }
      server.closeAllConnections();
      await closed;
      await gw.close();
    })();
    return stopping;
  };
  return { gw, server, url: `http://${address}`, address, shutdown };
}
