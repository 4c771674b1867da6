import { pino, type Logger as Pino } from 'pino';
import type { Redactor } from './redact.js';
import { sampled, samplingId } from './sampling.js';

/** One structured event (CONTRACT §4.14): `{"ts_ms","event","payload"}`. */
export type EventPayload = Record<string, unknown>;

/** The gateway's logger: named events plus plain operator messages. */
export interface Logger {
  /** True when lines are JSON (`--json-logs`): then `observability.sampling.json_logs_rate` applies. */
  readonly json: boolean;
  /** A structured event. In human mode, `proxy.response` becomes the access line; others a short line. */
  event(name: string, payload: EventPayload): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** Flush buffered output (shutdown). */
  flush(): void;
}

/** Where log lines go: a stream, or pino's fd destination. */
interface LineDestination {
  write(line: string): unknown;
  flushSync?(): void;
}

/**
 * Collects the lines logged during one event-loop turn and writes them to stderr with one
 * synchronous write once the turn is over (`setImmediate`), so a log line never delays the response
 * it describes. Why not pino's asynchronous destination: it hands every write to a libuv worker
 * thread, and each hand-off costs two context switches plus a wake-up of the event loop, about
 * 1.5 extra context switches per request at one connection in `npm run bench`. One write per turn is
 * also one syscall for many requests under load. Node itself writes stderr synchronously to files
 * and pipes on POSIX; the underlying SonicBoom (sync mode) retries EAGAIN and partial writes.
 */
class TurnBatchedStderr implements LineDestination {
  /** Past this many buffered characters, write at once rather than at the end of the turn. */
  static readonly MAX_PENDING = 64 * 1024;
  readonly #fd = pino.destination({ dest: 2, sync: true, minLength: 0 });
  #pending = '';
  #scheduled = false;
  readonly #flush = (): void => {
    this.#scheduled = false;
    if (this.#pending === '') return;
    const out = this.#pending;
    this.#pending = '';
    this.#fd.write(out);
  };

  write(line: string): boolean {
    this.#pending += line;
    if (this.#pending.length >= TurnBatchedStderr.MAX_PENDING) this.#flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
    return true;
  }

  /** Write what is pending now (shutdown, exit). */
  flushSync(): void {
    this.#flush();
    this.#fd.flushSync();
  }

  /** pino calls this from `logger.flush()`. */
  flush(cb?: (err?: Error) => void): void {
    this.flushSync();
    cb?.();
  }
}

/**
 * Logs go to stderr, batched per event-loop turn (see {@link TurnBatchedStderr}), or to the given
 * stream. `json` selects JSON lines; otherwise one human-readable line per request.
 */
export function createLogger(options: { json: boolean; destination?: NodeJS.WritableStream; level?: string }): Logger {
  let dest: LineDestination;
  if (options.destination) {
    dest = options.destination;
  } else {
    const stderr = new TurnBatchedStderr();
    process.once('exit', () => {
      try {
        stderr.flushSync();
      } catch {
        // exiting anyway; a closed or broken stderr must not turn the exit into a crash
      }
    });
    dest = stderr;
  }
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
    dest as NodeJS.WritableStream,
  );
  if (options.json) {
    return {
      json: true,
      event: (event, payload) => {
        if (!p.isLevelEnabled('info')) return;
        // The line pino would write (`{"ts_ms":…,"event":…,"payload":…}`, the payload through
        // JSON.stringify), built directly: pino's per-key serializer pass cost ~3 µs per request event.
        // What JSON.stringify refuses (a cycle, a BigInt) goes through pino's safe serializer.
        let body: string;
        try {
          body = JSON.stringify(payload);
        } catch {
          p.info({ event, payload });
          return;
        }
        dest.write(`{"ts_ms":${Date.now()},"event":${JSON.stringify(event)},"payload":${body}}\n`);
      },
      info: (message) => p.info({ event: 'gateway.info', payload: { message } }),
      warn: (message) => p.warn({ event: 'gateway.warning', payload: { message } }),
      error: (message) => p.error({ event: 'gateway.error', payload: { message } }),
      flush: () => p.flush(),
    };
  }
  // Human mode writes plain lines to the same destination.
  const write = (line: string): void => { dest.write(`${new Date().toISOString()} ${line}\n`); };
  return {
    json: false,
    event: (event, payload) => write(humanLine(event, payload)),
    info: (m) => write(m),
    warn: (m) => write(`warning: ${m}`),
    error: (m) => write(`error: ${m}`),
    flush: () => p.flush(),
  };
}

/** The access line's optional `name=value` fields, in order (`virtual_key_id` prints as `key`). */
const ACCESS_FIELDS = [['virtual_key_id', 'key'], ['model', 'model'], ['backend', 'backend'], ['error_code', 'error_code'], ['request_id', 'request_id']] as const;

/** Events printed as an access line in human mode (the rest print their whole payload). */
const ACCESS_EVENTS = new Set(['proxy.response', 'proxy.error', 'proxy.blocked']);
/** Every payload field an access line prints. */
const ACCESS_LINE_KEYS = ['method', 'path', 'status', 'latency_ms', ...ACCESS_FIELDS.map(([k]) => k)];

function accessFields(pl: EventPayload): EventPayload {
  const out: EventPayload = {};
  for (const k of ACCESS_LINE_KEYS) if (k in pl) out[k] = pl[k];
  return out;
}

function humanLine(event: string, pl: EventPayload): string {
  if (ACCESS_EVENTS.has(event)) {
    let line = `${pl['method']} ${pl['path']} ${pl['status']} ${pl['latency_ms']}ms`;
    for (const [k, label] of ACCESS_FIELDS) {
      const v = pl[k];
      if (v !== undefined && v !== null) line += ` ${label}=${String(v)}`;
    }
    return line;
  }
  return `${event} ${JSON.stringify(pl)}`;
}

/**
 * The logger every request path uses (CONTRACT §4.14): payloads redacted by the `observability`
 * rules (key names at any depth, query parameters in URL-like fields, regexes, JSON pointers) and
 * operator messages by the regexes; in JSON mode, events sampled at `json_logs_rate`, deterministically
 * by the payload's `request_id` (or `trace_id`, `response_id`, `session_id`, `id`). Events without any
 * such id are always written.
 */
export function redactingLogger(inner: Logger, redactor: Redactor, jsonLogsRate: number): Logger {
  const sample = inner.json && jsonLogsRate < 1;
  return {
    json: inner.json,
    event(name, payload) {
      if (sample) {
        const id = samplingId(payload);
        if (id !== undefined && !sampled(id, jsonLogsRate, 'logs')) return;
      }
      // The human access line prints a handful of fields: redact just those, not the whole payload
      // (same output: key names, pointers and regexes see the same keys and values).
      const shown = !inner.json && ACCESS_EVENTS.has(name) ? accessFields(payload) : payload;
      inner.event(name, redactor.redact(shown) as EventPayload);
    },
    info: (m) => inner.info(redactor.redactString(m)),
    warn: (m) => inner.warn(redactor.redactString(m)),
    error: (m) => inner.error(redactor.redactString(m)),
    flush: () => inner.flush(),
  };
}
