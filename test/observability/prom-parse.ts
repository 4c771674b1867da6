/**
 * A strict parser for the Prometheus text exposition format 0.0.4, for tests: every line must be a
 * well-formed `# HELP`, `# TYPE` or sample line (or empty); every sample must belong to the family declared
 * before it; no series may repeat; histogram buckets must be cumulative, in ascending `le` order,
 * end with `+Inf` and agree with `_count`. Throws with the line number on any violation.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function parseExposition(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const seen = new Set<string>();
  let current: MetricFamily | undefined;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((line, i) => {
    const at = `line ${i + 1}: ${JSON.stringify(line)}`;
    if (line.startsWith('# HELP ')) {
      const rest = line.slice(7);
      const sp = rest.indexOf(' ');
      const name = sp < 0 ? rest : rest.slice(0, sp);
      if (!NAME.test(name)) throw new Error(`bad metric name in HELP, ${at}`);
      if (families.has(name)) throw new Error(`family declared twice, ${at}`);
      current = { name, type: 'untyped', help: sp < 0 ? '' : rest.slice(sp + 1), samples: [] };
      families.set(name, current);
      return;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type, extra] = line.slice(7).split(' ');
      if (extra !== undefined || name === undefined || type === undefined) throw new Error(`bad TYPE, ${at}`);
      if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type)) throw new Error(`bad type, ${at}`);
      let fam = families.get(name);
      if (fam === undefined) {
        fam = { name, type: 'untyped', help: '', samples: [] };
        families.set(name, fam);
      } else if (fam !== current || fam.samples.length > 0) {
        throw new Error(`TYPE after samples or for another family, ${at}`);
      }
      fam.type = type as MetricFamily['type'];
      current = fam;
      return;
    }
    if (line.startsWith('#')) return; // other comments are allowed
    if (line.trim() === '') return; // the format ignores empty lines
    const s = parseSample(line, at);
    if (current === undefined || !belongs(current, s.name)) throw new Error(`sample outside its family, ${at}`);
    const key = `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`;
    if (seen.has(key)) throw new Error(`duplicate series, ${at}`);
    seen.add(key);
    current.samples.push(s);
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function belongs(f: MetricFamily, sample: string): boolean {
  if (f.type === 'histogram') return sample === `${f.name}_bucket` || sample === `${f.name}_sum` || sample === `${f.name}_count`;
  if (f.type === 'summary') return sample === f.name || sample === `${f.name}_sum` || sample === `${f.name}_count`;
  return sample === f.name;
}

function parseSample(line: string, at: string): Sample {
  let i = 0;
  while (i < line.length && line[i] !== '{' && line[i] !== ' ') i++;
  const name = line.slice(0, i);
  if (!NAME.test(name)) throw new Error(`bad sample name, ${at}`);
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      let j = i;
      while (j < line.length && line[j] !== '=') j++;
      const lname = line.slice(i, j);
      if (!LABEL.test(lname)) throw new Error(`bad label name ${JSON.stringify(lname)}, ${at}`);
      if (line[j + 1] !== '"') throw new Error(`label value not quoted, ${at}`);
      j += 2;
      let v = '';
      for (;;) {
        const c = line[j];
        if (c === undefined) throw new Error(`unterminated label value, ${at}`);
        if (c === '"') break;
        if (c === '\\') {
          const n = line[j + 1];
          if (n === '\\') v += '\\';
          else if (n === '"') v += '"';
          else if (n === 'n') v += '\n';
          else throw new Error(`bad escape, ${at}`);
          j += 2;
          continue;
        }
        v += c;
        j++;
      }
      if (lname in labels) throw new Error(`label repeated, ${at}`);
      labels[lname] = v;
      j++;
      if (line[j] === ',') j++;
      else if (line[j] !== '}') throw new Error(`expected , or }, ${at}`);
      i = j;
    }
    i++;
  }
  if (line[i] !== ' ') throw new Error(`expected a space before the value, ${at}`);
  const rest = line.slice(i + 1).split(' ');
  if (rest.length > 2) throw new Error(`trailing fields, ${at}`);
  const raw = rest[0] as string;
  // Prometheus parses values with Go's ParseFloat: NaN and Inf are case-insensitive (prom-client
  // writes an empty event-loop-lag mean as `Nan`).
  const lower = raw.toLowerCase();
  const special = lower === 'nan' ? NaN : lower === '+inf' || lower === 'inf' ? Infinity : lower === '-inf' ? -Infinity : undefined;
  const value = special ?? Number(raw);
  if (raw === '' || (Number.isNaN(value) && lower !== 'nan')) throw new Error(`bad value, ${at}`);
  return { name, labels, value };
}

function checkHistogram(f: MetricFamily): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; count?: number; sum?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { buckets: [] }));
    if (s.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${f.name}: bucket without le`);
      g.buckets.push([le === '+Inf' ? Infinity : Number(le), s.value]);
    } else if (s.name.endsWith('_count')) g.count = s.value;
    else g.sum = s.value;
  }
  for (const [key, g] of groups) {
    if (g.count === undefined || g.sum === undefined) throw new Error(`${f.name}${key}: missing _sum or _count`);
    for (let i = 1; i < g.buckets.length; i++) {
      const [le0, c0] = g.buckets[i - 1] as [number, number];
      const [le1, c1] = g.buckets[i] as [number, number];
      if (!(le1 > le0)) throw new Error(`${f.name}${key}: le not ascending`);
      if (c1 < c0) throw new Error(`${f.name}${key}: buckets not cumulative`);
    }
    const last = g.buckets[g.buckets.length - 1];
    if (last === undefined || last[0] !== Infinity || last[1] !== g.count) throw new Error(`${f.name}${key}: +Inf bucket must equal _count`);
  }
}

/** The value of the sample `name` with exactly these labels (undefined when absent). */
export function valueOf(families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      const keys = Object.keys(s.labels);
      if (keys.length !== Object.keys(labels).length) continue;
      if (keys.every((k) => s.labels[k] === labels[k])) return s.value;
    }
  }
  return undefined;
}

/** Every sample named `name`, as `labels → value` rows. */
export function samplesOf(families: Map<string, MetricFamily>, name: string): Sample[] {
  const out: Sample[] = [];
  for (const f of families.values()) for (const s of f.samples) if (s.name === name) out.push(s);
  return out;
}
