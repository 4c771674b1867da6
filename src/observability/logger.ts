import { pino, type Logger as Pino } from 'pino';

/** One structured event (CONTRACT §4.14): `{"ts_ms","event","payload"}`. */
export type EventPayload = Record<string, unknown>;

/** The gateway's logger: named events plus plain operator messages. */
export interface Logger {
  /** A structured event. In human mode, `proxy.response` becomes the access line; others a short line. */
  event(name: string, payload: EventPayload): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** Flush buffered output (shutdown). */
  flush(): void;
}

/**
 * Logs go to stderr through pino's asynchronous destination, so writing never blocks the request
 * that logs. `json` selects JSON lines; otherwise one human-readable line per request.
 */
export function createLogger(options: { json: boolean; destination?: NodeJS.WritableStream; level?: string }): Logger {
  const dest = options.destination ?? pino.destination({ dest: 2, sync: false, minLength: 0 });
  const p: Pino = pino(
    {
      base: null,
      level: options.level ?? 'info',
      // With an empty level formatter pino opens the line with a bare `{`, so the timestamp must not
      // start with a comma (pino 10 would write `{,"ts_ms":…`, which is not JSON).
      timestamp: () => `"ts_ms":${Date.now()}`,
      formatters: { level: () => ({}) },
      messageKey: 'message',
    },
    dest,
  );
  if (options.json) {
    return {
      event: (event, payload) => p.info({ event, payload }),
      info: (message) => p.info({ event: 'gateway.info', payload: { message } }),
      warn: (message) => p.warn({ event: 'gateway.warning', payload: { message } }),
      error: (message) => p.error({ event: 'gateway.error', payload: { message } }),
      flush: () => p.flush(),
    };
  }
  // Human mode writes plain lines to the same asynchronous destination.
  const write = (line: string): void => { dest.write(`${new Date().toISOString()} ${line}\n`); };
  return {
    event: (event, payload) => write(humanLine(event, payload)),
    info: (m) => write(m),
    warn: (m) => write(`warning: ${m}`),
    error: (m) => write(`error: ${m}`),
    flush: () => p.flush(),
  };
}

function humanLine(event: string, pl: EventPayload): string {
  if (event === 'proxy.response' || event === 'proxy.error' || event === 'proxy.blocked') {
    const parts = [`${pl['method']} ${pl['path']} ${pl['status']} ${pl['latency_ms']}ms`];
    for (const k of ['virtual_key_id', 'model', 'backend', 'error_code', 'request_id'] as const) {
      if (pl[k] !== undefined && pl[k] !== null) parts.push(`${k === 'virtual_key_id' ? 'key' : k}=${String(pl[k])}`);
    }
    return parts.join(' ');
  }
  return `${event} ${JSON.stringify(pl)}`;
}
