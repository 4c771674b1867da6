/** Which backing store raised an error; named in messages so operators know what to fix. */
export type StoreName = 'memory' | 'sqlite' | 'redis' | 'state';

/** Base class of every error a store raises on purpose. `code` is stable; messages are for humans. */
export class StoreError extends Error {
  readonly code: string;
  readonly store: StoreName;

  constructor(store: StoreName, code: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StoreError';
    this.store = store;
    this.code = code;
  }
}

/**
 * The store cannot be reached or cannot serve right now (connection refused or lost, command timeout,
 * database locked past the busy timeout, disk full). The operation may be retried later; the pipeline
 * answers 503 naming the store and `/ready` reports not ready. Never raised for a denied admission.
 */
export class StoreUnavailableError extends StoreError {
  constructor(store: StoreName, detail: string, options?: { cause?: unknown }) {
    super(store, 'STORE_UNAVAILABLE', `${store} store unavailable: ${detail}`, options);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * The store's data or schema is not usable by this build (unknown or newer schema version, missing
 * tables, a record that does not parse). Raised at open and by `doctor()`; fatal at startup.
 */
export class StoreSchemaError extends StoreError {
  constructor(store: StoreName, detail: string, options?: { cause?: unknown }) {
    super(store, 'STORE_SCHEMA', `${store} store schema check failed: ${detail}`, options);
    this.name = 'StoreSchemaError';
  }
}

/** True for a {@link StoreUnavailableError}. */
export function isStoreUnavailable(err: unknown): err is StoreUnavailableError {
  return err instanceof StoreUnavailableError;
}
