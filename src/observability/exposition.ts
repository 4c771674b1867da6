/**
 * A minimal Prometheus text-format (0.0.4) metric model for the gateway's own families. The hot path
 * touches only plain numbers on series objects resolved once per distinct label set (nested maps keyed
 * by the label values: no key strings are built per request); all formatting happens at scrape time,
 * with series sorted by label values (CONTRACT §4.14).
 */

/** Histogram buckets of every `*_seconds` family (§4.14), without `+Inf`. */
export const BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface Series {
  readonly labels: readonly string[];
  value: number;
}

export interface HistogramSeries {
  readonly labels: readonly string[];
  /** Observations per bucket (not cumulative); the last slot is `+Inf`. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

abstract class Family<S extends { labels: readonly string[] }> {
  readonly #root: Map<string, unknown> = new Map();
  #plain: S | undefined;
  readonly #all: S[] = [];

  constructor(readonly name: string, readonly help: string, readonly labelNames: readonly string[]) {}

  protected abstract create(labels: readonly string[]): S;

  /** The series of a label-less family. */
  plain(): S {
    if (this.#plain === undefined) {
      this.#plain = this.create([]);
      this.#all.push(this.#plain);
    }
    return this.#plain;
  }

  /** The series for one label value (one-label families). */
  child(a: string): S {
    let s = this.#root.get(a) as S | undefined;
    if (s === undefined) {
      s = this.create([a]);
      this.#root.set(a, s);
      this.#all.push(s);
    }
    return s;
  }

  /** The series for two label values (two-label families). */
  child2(a: string, b: string): S {
    let inner = this.#root.get(a) as Map<string, S> | undefined;
    if (inner === undefined) {
      inner = new Map();
      this.#root.set(a, inner);
    }
    let s = inner.get(b);
    if (s === undefined) {
      s = this.create([a, b]);
      inner.set(b, s);
      this.#all.push(s);
    }
    return s;
  }

  /** Every series, sorted by label values. */
  protected sorted(): S[] {
    return [...this.#all].sort((x, y) => compareLabels(x.labels, y.labels));
  }

  abstract render(out: string[]): void;

  protected header(out: string[], type: string): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${type}`);
  }
}

export class CounterFamily extends Family<Series> {
  constructor(name: string, help: string, labelNames: readonly string[], readonly type: 'counter' | 'gauge' = 'counter') {
    super(name, help, labelNames);
  }

  protected create(labels: readonly string[]): Series {
    return { labels, value: 0 };
  }

  render(out: string[]): void {
    this.header(out, this.type);
    if (this.labelNames.length === 0) this.plain();
    for (const s of this.sorted()) out.push(`${this.name}${labelSet(this.labelNames, s.labels)} ${formatNumber(s.value)}`);
  }
}

export class HistogramFamily extends Family<HistogramSeries> {
  protected create(labels: readonly string[]): HistogramSeries {
    return { labels, counts: new Float64Array(BUCKETS.length + 1), sum: 0, count: 0 };
  }

  render(out: string[]): void {
    this.header(out, 'histogram');
    if (this.labelNames.length === 0) this.plain();
    const leNames = [...this.labelNames, 'le'];
    for (const s of this.sorted()) {
      let cum = 0;
      for (let i = 0; i <= BUCKETS.length; i++) {
        cum += s.counts[i] as number;
        const le = i < BUCKETS.length ? String(BUCKETS[i]) : '+Inf';
        out.push(`${this.name}_bucket${labelSet(leNames, [...s.labels, le])} ${formatNumber(cum)}`);
      }
      const ls = labelSet(this.labelNames, s.labels);
      out.push(`${this.name}_sum${ls} ${formatNumber(s.sum)}`, `${this.name}_count${ls} ${formatNumber(s.count)}`);
    }
  }
}

/** Record one observation (seconds) in a histogram series. */
export function observe(s: HistogramSeries, seconds: number): void {
  let i = 0;
  while (i < BUCKETS.length && seconds > (BUCKETS[i] as number)) i++;
  (s.counts as Float64Array)[i] = (s.counts[i] as number) + 1;
  s.sum += seconds;
  s.count++;
}

function compareLabels(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as string;
    const y = b[i] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function labelSet(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return '';
  let s = '{';
  for (let i = 0; i < names.length; i++) {
    if (i > 0) s += ',';
    s += `${names[i]}="${escapeLabel(values[i] as string)}"`;
  }
  return `${s}}`;
}

/** Label value escaping of the text format: backslash, double quote, line feed. */
export function escapeLabel(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

export function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}
