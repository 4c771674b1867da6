import { describe, test } from 'node:test';
import { budgetCases } from './conformance-budget.js';
import { rateCases } from './conformance-rate.js';
import { recordCases } from './conformance-records.js';
import type { Store } from './store.js';

/**
 * The shared Store conformance suite (STYLE §3.4 item 9, hono's `common.case.test.ts` pattern): every
 * implementation's test file calls {@link runStoreConformance} with a harness, and the same cases pin
 * the same semantics for memory, SQLite and Redis. Time is driven by a fake clock handed to the store,
 * so window and period edges are checked to the millisecond without sleeping.
 */

/** A fresh backing store plus a way to open another client of it (another process or replica). */
export interface StoreHandle {
  store: Store;
  /** Another client of the same backing; the memory store returns itself. */
  replica(): Promise<Store>;
  /** Close every client and delete the backing data. */
  cleanup(): Promise<void>;
}

/** How a test file provides its implementation. */
export interface StoreHarness {
  /** Open a fresh, empty backing store whose clock is `clock`. */
  open(clock: () => number): Promise<StoreHandle>;
}

/** A settable clock; starts on a UTC day boundary (so budget periods and 500 ms buckets align). */
export class TestClock {
  static readonly T0 = Date.UTC(2030, 0, 1);
  t = TestClock.T0;
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/** What each case receives. */
export interface CaseContext {
  /** Run `fn` against a fresh store (cleaned up afterwards, also on failure). */
  withStore(fn: (h: StoreHandle, clock: TestClock) => Promise<void>): Promise<void>;
}

/**
 * Register the whole suite under `describe(name)`. `skip`, when set, is the visible reason the
 * backend cannot run here (only ever outside CI; CI makes unreachable services fail instead).
 */
export function runStoreConformance(name: string, harness: StoreHarness, options: { skip?: string } = {}): void {
  const ctx: CaseContext = {
    async withStore(fn) {
      const clock = new TestClock();
      const h = await harness.open(clock.now);
      try {
        await fn(h, clock);
      } finally {
        await h.cleanup();
      }
    },
  };
  if (options.skip !== undefined) {
    // A skipped test (not suite) so the run's summary counts it, with the reason beside it.
    test(`Store conformance: ${name}`, { skip: options.skip }, () => undefined);
    return;
  }
  describe(`Store conformance: ${name}`, () => {
    describe('rate limits (sliding window)', () => rateCases(ctx));
    describe('budgets and reservations', () => budgetCases(ctx));
    describe('audit, keys and router', () => recordCases(ctx));
  });
}
