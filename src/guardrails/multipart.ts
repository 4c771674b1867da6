/**
 * A small, bounded `multipart/form-data` reader over an already-buffered body: part names, file
 * names, content types and byte ranges, for the schema check (`file`+`model`, `file`+`purpose`),
 * the model of an audio upload, and the text checks. It copies no part bodies.
 */

/** One part: its form name, file name and type when given, and its body's byte range. */
export interface MultipartPart {
  readonly name: string;
  readonly filename: string | undefined;
  readonly contentType: string | undefined;
  readonly start: number;
  readonly end: number;
}

/** More parts than this and the body is treated as malformed. */
export const MAX_PARTS = 1000;
/** Longest header block of one part. */
const MAX_PART_HEADER_BYTES = 16384;

/** The `boundary` parameter of a `multipart/form-data` content type, else undefined. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const semi = contentType.indexOf(';');
  const mime = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (mime !== 'multipart/form-data' || semi < 0) return undefined;
  for (const param of contentType.slice(semi + 1).split(';')) {
    const eq = param.indexOf('=');
    if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'boundary') continue;
    let v = param.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    return v.length > 0 && v.length <= 200 ? v : undefined;
  }
  return undefined;
}

/** Parse the parts of a buffered multipart body; undefined when the body is malformed. */
export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] | undefined {
  const delim = Buffer.from(`--${boundary}`, 'latin1');
  const nextDelim = Buffer.from(`\r\n--${boundary}`, 'latin1');
  const parts: MultipartPart[] = [];
  let pos = body.indexOf(delim);
  if (pos !== 0) {
    // A preamble is allowed, but the first delimiter must still start a line.
    pos = body.indexOf(nextDelim);
    if (pos < 0) return undefined;
    pos += 2;
  }
  for (;;) {
    pos += delim.length;
    if (body[pos] === 45 && body[pos + 1] === 45) return parts; // closing `--boundary--`
    while (body[pos] === 32 || body[pos] === 9) pos++; // transport padding
    if (body[pos] === 13 && body[pos + 1] === 10) pos += 2;
    else return undefined;
    const headerEnd = body.indexOf('\r\n\r\n', pos, 'latin1');
    if (headerEnd < 0 || headerEnd - pos > MAX_PART_HEADER_BYTES) return undefined;
    const headers = parseHeaders(body.toString('utf8', pos, headerEnd));
    const start = headerEnd + 4;
    const end = body.indexOf(nextDelim, start);
    if (end < 0 || headers === undefined) return undefined;
    parts.push({ ...headers, start, end });
    if (parts.length > MAX_PARTS) return undefined;
    pos = end + 2;
  }
}

function parseHeaders(block: string): Omit<MultipartPart, 'start' | 'end'> | undefined {
  let name: string | undefined;
  let filename: string | undefined;
  let contentType: string | undefined;
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const h = line.slice(0, colon).trim().toLowerCase();
    const v = line.slice(colon + 1).trim();
    if (h === 'content-type') contentType = v.toLowerCase();
    else if (h === 'content-disposition') {
      name = dispositionParam(v, 'name');
      filename = dispositionParam(v, 'filename');
    }
  }
  return name === undefined ? undefined : { name, filename, contentType };
}

/** `name="x"` / `name=x` from a Content-Disposition value (quoted strings may escape `"`). */
function dispositionParam(v: string, param: string): string | undefined {
  let i = 0;
  while (i < v.length) {
    const semi = v.indexOf(';', i);
    if (semi < 0) return undefined;
    i = semi + 1;
    while (v[i] === ' ' || v[i] === '\t') i++;
    const eq = v.indexOf('=', i);
    if (eq < 0) return undefined;
    const key = v.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    let value = '';
    if (v[i] === '"') {
      i++;
      while (i < v.length && v[i] !== '"') {
        if (v[i] === '\\' && i + 1 < v.length) i++;
        value += v[i];
        i++;
      }
      i++;
    } else {
      const stop = v.indexOf(';', i);
      value = (stop < 0 ? v.slice(i) : v.slice(i, stop)).trim();
      i = stop < 0 ? v.length : stop;
    }
    if (key === param) return value;
  }
  return undefined;
}
