// Small helpers shared by the SDK modules.

const UNITS_MS = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };

/**
 * Parses a duration to milliseconds: a number is taken as milliseconds (k6's `timeout: 500`),
 * a string is a Go-style duration (`'2s'`, `'1m30s'`, `'1.5s'`, `'250ms'`) or plain
 * milliseconds (`'500'`).
 */
export function durationMs(value) {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new TypeError(`invalid duration: ${value}`);
    return value;
  }
  const s = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let m; (m = re.exec(s)); end = re.lastIndex) total += Number(m[1]) * UNITS_MS[m[2]];
  if (end === 0 || end !== s.length) throw new TypeError(`invalid duration: '${s}'`);
  return total;
}

/** Turns a `{name: value}` object (k6's tags and headers) into the WIT's list of pairs. */
export function pairs(obj) {
  const out = [];
  if (obj == null) return out;
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) for (const item of v) out.push([key, String(item)]);
    else out.push([key, String(v)]);
  }
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 encodes a string. */
export const utf8 = (s) => encoder.encode(s);
/** Decodes UTF-8 bytes (invalid sequences become U+FFFD). */
export const fromUtf8 = (bytes) => decoder.decode(bytes);

/** Formats anything for a log line, like console.log does. */
export function show(value) {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return errorText(value);
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
    } catch {
      return String(value);
    }
  }
  return String(value);
}

/**
 * The text of an exception for the host: `Name: message` followed by the JavaScript stack when
 * there is one (SpiderMonkey's `function@file:line:column` lines).
 */
export function errorText(e) {
  if (e instanceof Error) {
    const head = e.message ? `${e.name}: ${e.message}` : e.name;
    const stack = typeof e.stack === 'string' ? e.stack.trimEnd() : '';
    return stack ? `${head}\n${stack}` : head;
  }
  return show(e);
}
