/**
 * Config regexes are written in the Rust `regex` dialect Ditto uses, where flags come as a leading
 * inline group (`(?i)bearer\s+[^\s]+`). JavaScript has no such group, so a leading `(?ims)` becomes
 * RegExp flags; any other construct is left to the JavaScript engine to accept or reject.
 */

/** Compile a config regex. `flags` are added to the pattern's own. Throws with a readable message. */
export function compileConfigRegex(pattern: string, flags = ''): RegExp {
  let body = pattern;
  let own = '';
  const m = /^\(\?([a-zA-Z]+)\)/.exec(pattern);
  if (m) {
    own = m[1] ?? '';
    const bad = [...own].filter((f) => !'ims'.includes(f));
    if (bad.length > 0) throw new Error(`unsupported inline flag ${bad.map((f) => `"${f}"`).join(', ')} (supported: i, m, s)`);
    body = pattern.slice(m[0].length);
  }
  const all = [...new Set([...own, ...flags])].join('');
  try {
    return new RegExp(body, all);
  } catch (err) {
    throw new Error((err as Error).message.replace(/^Invalid regular expression: /, 'invalid regex '), { cause: err });
  }
}
