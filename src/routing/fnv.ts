/**
 * FNV-1a 64-bit over UTF-8 bytes, as a float in [0, 1): `(h >>> 11) / 2^53` (CONTRACT §4.4).
 * Implemented on four 16-bit limbs so the hot path does no BigInt arithmetic.
 */
export function fnv1a64Unit(input: string): number {
  // offset basis 0xcbf29ce484222325 as limbs, least significant first
  let h0 = 0x2325, h1 = 0x8422, h2 = 0x9ce4, h3 = 0xcbf2;
  const bytes = Buffer.from(input, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    h0 ^= bytes[i] as number;
    // multiply by prime 0x100000001b3 = 2^40 + 0x1b3
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3;
    const t2 = h2 * 0x1b3;
    const t3 = h3 * 0x1b3;
    // + (h << 40): limb k shifts to limb k+2 with an extra << 8
    const s2 = t2 + (h0 << 8);
    const s3 = t3 + (h1 << 8);
    let c = t0;
    h0 = c & 0xffff; c = t1 + (c >>> 16);
    h1 = c & 0xffff; c = s2 + Math.floor(c / 0x10000);
    h2 = c & 0xffff; c = s3 + Math.floor(c / 0x10000);
    h3 = c & 0xffff;
  }
  const hi = h3 * 0x10000 + h2; // top 32 bits
  const lo = h1 * 0x10000 + h0; // bottom 32 bits
  return (hi * 2 ** 21 + Math.floor(lo / 2 ** 11)) / 2 ** 53;
}

/** Reference implementation with BigInt, for tests. */
export function fnv1a64Big(input: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(input, 'utf8')) {
    h ^= BigInt(b);
    h = BigInt.asUintN(64, h * 0x100000001b3n);
  }
  return h;
}
