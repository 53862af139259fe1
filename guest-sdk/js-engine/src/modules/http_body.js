// Request bodies as k6 writes them (`stampede:http-body`, used by `k6/http`):
//
// - an object: an URL-encoded form, keys sorted as Go's `url.Values.Encode` sorts them, or
//   `multipart/form-data` when a field holds an `http.file(…)`, laid out as Go's
//   `mime/multipart` writer lays it out;
// - a string: its UTF-8 bytes; an ArrayBuffer or a typed array: its bytes as they are.
//
// Field values are written as Go's `fmt.Sprintf("%v", v)` writes what k6 hands it: `null` and
// `undefined` are `<nil>`, an array `[a b]`.

/** What `http.file(data, filename, contentType)` returns: one file of a multipart body. */
export class FileData {
  constructor(data, filename, contentType) {
    this.data = data;
    this.filename = filename;
    this.content_type = contentType;
  }
}

/**
 * k6's `http.file`: `data` (a string or an ArrayBuffer, as `open(path, 'b')` gives) sent as a
 * file part when it is a field of an object body. The filename defaults to the time in
 * nanoseconds, the content type to `application/octet-stream`, as in k6.
 */
export function file(data, filename, contentType) {
  if (typeof data !== 'string' && !(data instanceof ArrayBuffer)) {
    throw new TypeError(`invalid type ${typeName(data)}, expected string or ArrayBuffer`);
  }
  const name = filename === undefined ? String(BigInt(Date.now()) * 1000000n) : String(filename);
  const type = contentType === undefined ? 'application/octet-stream' : String(contentType);
  return new FileData(data, name, type);
}

function typeName(v) {
  if (v === null) return 'null';
  if (typeof v === 'object') return v.constructor?.name ?? 'object';
  return typeof v;
}

/** A number as Go's `%v` shows a float64 (`1e-05`, `+Inf`), or an integer as int64. */
function goNumber(n) {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  const abs = Math.abs(n);
  if (abs !== 0 && abs < 1e-4) {
    // Go switches to the exponent form below 1e-4 (JavaScript below 1e-6), with at least two
    // exponent digits.
    return n.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  }
  return String(n);
}

/** A field value as k6 writes it (Go's `%v` of the exported value). */
export function goValue(v) {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'number') return goNumber(v);
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${goValue(v[k])}`).join(' ')}]`;
  }
  return String(v);
}

/** Go's `url.QueryEscape`: all but `A-Za-z0-9-_.~` percent-encoded, a space as `+`. */
export function queryEscape(s) {
  let text = String(s);
  let out;
  try {
    out = encodeURIComponent(text);
  } catch {
    // A lone surrogate: Go sees U+FFFD in its place.
    text = text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
    out = encodeURIComponent(text);
  }
  return out.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+');
}

/** Go's `url.Values{…}.Encode()` of an object body: keys sorted, an array's items in order. */
export function formBody(body) {
  const parts = [];
  for (const key of Object.keys(body).sort(byBytes)) {
    const v = body[key];
    const k = queryEscape(key);
    if (Array.isArray(v)) {
      for (const item of v) parts.push(`${k}=${queryEscape(goValue(item))}`);
    } else {
      parts.push(`${k}=${queryEscape(goValue(v))}`);
    }
  }
  return parts.join('&');
}

/** Go sorts strings by their UTF-8 bytes; UTF-16 order differs only past U+FFFF. */
function byBytes(a, b) {
  if (a === b) return 0;
  const enc = new TextEncoder();
  const x = enc.encode(a);
  const y = enc.encode(b);
  for (let i = 0; i < x.length && i < y.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** Whether an object body holds a file, which makes it multipart. */
export function hasFile(body) {
  for (const key of Object.keys(body)) if (body[key] instanceof FileData) return true;
  return false;
}

const quoteEscape = (s) => String(s).replace(/[\\"]/g, (c) => `\\${c}`);

/** Go's `multipart` boundary: 30 random bytes in hex. */
function boundary() {
  let b = '';
  for (let i = 0; i < 30; i++) b += Math.floor(Math.random() * 256).toString(16).padStart(2, '0');
  return b;
}

/**
 * A `multipart/form-data` body of the object `body` as k6 writes it: `[bytes, contentType]`.
 * Parts follow the object's key order (k6 walks a Go map, so its order varies from run to run).
 */
export function multipartBody(body) {
  const b = boundary();
  const enc = new TextEncoder();
  const chunks = [];
  let first = true;
  for (const key of Object.keys(body)) {
    const v = body[key];
    let head = `${first ? '' : '\r\n'}--${b}\r\n`;
    first = false;
    if (v instanceof FileData) {
      // k6 writes the field name of a file part as it is, and escapes only the filename.
      head += `Content-Disposition: form-data; name="${key}"; filename="${quoteEscape(v.filename)}"\r\n`;
      head += `Content-Type: ${v.content_type}\r\n\r\n`;
      chunks.push(enc.encode(head));
      chunks.push(typeof v.data === 'string' ? enc.encode(v.data) : new Uint8Array(v.data));
    } else {
      head += `Content-Disposition: form-data; name="${quoteEscape(key)}"\r\n\r\n`;
      chunks.push(enc.encode(head + goValue(v)));
    }
  }
  chunks.push(enc.encode(`\r\n--${b}--\r\n`));
  let size = 0;
  for (const c of chunks) size += c.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return [out, `multipart/form-data; boundary=${b}`];
}
