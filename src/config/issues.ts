import type { z } from 'zod';

/**
 * Turns zod issues into the lines a user reads: `virtual_keys[0].token: expected a string, got number`.
 * Values are never echoed (a mistyped token is still a secret); only types and bounds are.
 */

/** Format an issue path the way users write it: `router.rules[2].backends[0].backend`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out === '' ? '(root)' : out;
}

/**
 * Marks a custom issue whose message reads after the path without a colon, for messages the
 * contract fixes (`observability.sampling.x must be a finite value between 0.0 and 1.0`).
 */
export const SENTENCE = { sentence: true } as const;

/** One line per issue, each starting with its path. Parse with `reportInput: true` for the `got` part. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map(formatIssue);
}

/** One issue as `<path>: <what was expected>`. */
export function formatIssue(issue: z.core.$ZodIssue): string {
  const path = formatPath(issue.path);
  if (issue.code === 'custom' && (issue.params as { sentence?: boolean } | undefined)?.sentence) {
    return `${path} ${issue.message}`;
  }
  return `${path}: ${describe(issue)}`;
}

function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (!('input' in issue) || issue.input === undefined) return `required (expected ${typeName(issue.expected)})`;
      return `expected ${typeName(issue.expected)}, got ${kindOf(issue.input)}`;
    case 'invalid_union': {
      const expected = unionExpectations(issue);
      if (expected && 'input' in issue) {
        const got = issue.input === undefined ? 'nothing' : kindOf(issue.input);
        return `expected ${expected.join(' or ')}, got ${got}`;
      }
      return 'does not match any allowed form';
    }
    case 'invalid_value':
      return `expected ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return bound(issue.origin, issue.inclusive ? '>=' : '>', issue.minimum, 'at least');
    case 'too_big':
      return bound(issue.origin, issue.inclusive ? '<=' : '<', issue.maximum, 'at most');
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    case 'invalid_format':
      return `not a valid ${issue.format}`;
    case 'unrecognized_keys':
      return `unknown fields: ${issue.keys.join(', ')}`;
    default:
      return issue.message;
  }
}

function bound(origin: string, op: string, limit: number | bigint, words: string): string {
  if (origin === 'array' || origin === 'set') return `must have ${words} ${String(limit)} item${limit === 1 ? '' : 's'}`;
  if (origin === 'string') return `must have ${words} ${String(limit)} character${limit === 1 ? '' : 's'}`;
  if (op === '>' && Number(limit) === 0) return 'must be > 0';
  return `must be ${op} ${String(limit)}`;
}

/** For a union whose branches all failed on the type alone, the list of accepted types. */
function unionExpectations(issue: z.core.$ZodIssueInvalidUnion): string[] | undefined {
  const out: string[] = [];
  for (const branch of issue.errors) {
    const first = branch[0];
    if (branch.length !== 1 || !first || first.code !== 'invalid_type' || first.path.length !== 0) return undefined;
    const name = typeName(first.expected);
    if (!out.includes(name)) out.push(name);
  }
  return out.length > 0 ? out : undefined;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  bigint: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
  record: 'an object',
  array: 'a list',
  tuple: 'a list',
  null: 'null',
  nan: 'NaN',
};

function typeName(expected: string): string {
  return TYPE_NAMES[expected] ?? expected;
}

/** The JSON/YAML kind of a value, as users call it. */
export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'NaN';
    if (!Number.isFinite(v)) return 'infinity';
    return Number.isInteger(v) ? 'number' : 'fractional number';
  }
  if (typeof v === 'boolean') return 'boolean';
  return typeof v;
}
