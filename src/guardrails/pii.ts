/**
 * `block_pii` detectors (CONTRACT §2.3). Email and SSN are the contract's regexes, run by the same
 * linear-time matcher as `banned_regexes`; payment cards are a hand-written single-pass scanner
 * because the Luhn checksum is not a regular language.
 */

/** CONTRACT §2.3, matched case-insensitively. */
export const EMAIL_PATTERN = String.raw`\b[A-Z0-9._%+-]+@[A-Z0-9.-]+\.[A-Z]{2,}\b`;
/** CONTRACT §2.3. */
export const SSN_PATTERN = String.raw`\b\d{3}-\d{2}-\d{4}\b`;

/**
 * A necessary condition for {@link containsCardNumber}: 13 ASCII digits with at most one space or
 * dash between neighbours. It joins the combined automaton pass, so a prompt without such a run
 * (nearly all of them) never pays for the card scan.
 */
export const CARD_PREFILTER_PATTERN = '[0-9](?:[ -]?[0-9]){12}';

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
/** ASCII letter, digit or underscore: a number glued to one of these is an identifier, not a card. */
const isWordish = (c: number): boolean => isDigit(c) || (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;

/** The Luhn (mod 10) checksum every payment card number carries. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/**
 * Major-network issuer prefixes: Visa 4, Mastercard 51-55 and 2221-2720, Maestro 50/56-69,
 * Discover/UnionPay 6x, Amex 34/37, Diners 30/36/38/39, JCB 35. Other first digits (airline, fuel,
 * national) are where ordinary 13-19 digit numbers (years, ids) would otherwise pass Luhn by chance.
 */
function issuerPrefixOk(d: string): boolean {
  switch (d.charCodeAt(0)) {
    case 52: case 53: case 54: return true; // 4, 5, 6
    case 51: return !'123'.includes(d[1] ?? '1'); // 3 + {0,4,5,6,7,8,9}
    case 50: {
      const p = Number(d.slice(0, 4));
      return p >= 2221 && p <= 2720;
    }
    default: return false;
  }
}

/**
 * Group layouts cards are printed in: `4-4-4-4`, `4-4-4-4-3` (19 digits), `4-4-4-1..4` (13-16),
 * `4-6-5` (Amex) and `4-6-4` (Diners). Mixed layouts such as dates (`2024-01-15`) never qualify.
 */
function layoutOk(groups: readonly number[]): boolean {
  if (groups[0] !== 4) return false;
  if (groups.length === 3 && groups[1] === 6) return groups[2] === 5 || groups[2] === 4;
  for (let i = 1; i < groups.length - 1; i++) if (groups[i] !== 4) return false;
  const last = groups[groups.length - 1] as number;
  return groups.length >= 4 && groups.length <= 5 && last >= 1 && last <= 4 && (groups.length === 4 || last <= 3);
}

/**
 * True when `text` holds a payment card number: 13-19 digits, either unbroken or in a printed layout
 * with one consistent separator (space or dash), not glued to letters, digits or a decimal point,
 * with a major-network prefix and a valid Luhn checksum. A number followed by more digit groups
 * (`4111 1111 1111 1111 123`, card then CVV) is found through its leading groups. Single pass.
 */
export function containsCardNumber(text: string): boolean {
  const n = text.length;
  let i = 0;
  while (i < n) {
    if (!isDigit(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const prev = i > 0 ? text.charCodeAt(i - 1) : -1;
    const leftOk = !isWordish(prev) && !((prev === 46 || prev === 44) && i >= 2 && isDigit(text.charCodeAt(i - 2)));
    // Collect the run: digit groups joined by one separator kind.
    const groups: number[] = [];
    let digits = '';
    let sep = -1;
    let j = i;
    for (;;) {
      const g = j;
      while (j < n && isDigit(text.charCodeAt(j))) j++;
      groups.push(j - g);
      if (digits.length <= 19) digits += text.slice(g, Math.min(j, g + 20));
      const c = j < n ? text.charCodeAt(j) : -1;
      if ((c === 32 || c === 45) && (sep === -1 || sep === c) && j + 1 < n && isDigit(text.charCodeAt(j + 1))) {
        sep = c;
        j++;
        continue;
      }
      break;
    }
    if (leftOk && candidateInRun(text, j, groups, digits)) return true;
    i = j;
  }
  return false;
}

function candidateInRun(text: string, end: number, groups: readonly number[], digits: string): boolean {
  const next = end < text.length ? text.charCodeAt(end) : -1;
  const rightOk = !isWordish(next) && !((next === 46 || next === 44) && end + 1 < text.length && isDigit(text.charCodeAt(end + 1)));
  let total = 0;
  for (let k = 1; k <= groups.length; k++) {
    total += groups[k - 1] as number;
    if (total > 19) return false;
    if (total < 13) continue;
    // The whole run must end cleanly; a leading part may be followed by more groups (CVV, expiry).
    if (k === groups.length && !rightOk) return false;
    if (k > 1 && !layoutOk(groups.slice(0, k))) continue;
    const d = digits.slice(0, total);
    if (issuerPrefixOk(d) && luhnValid(d)) return true;
  }
  return false;
}
