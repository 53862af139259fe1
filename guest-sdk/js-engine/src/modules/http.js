// `k6/http` (also `stampede/http`): HTTP requests through the host, measured per phase.
//
//   import http from 'k6/http';
//   const res = http.get(`${__ENV.BASE_URL}/items`, { headers: { accept: 'application/json' },
//                                                   tags: { name: 'items' }, timeout: '2s' });
//   res.status, res.body, res.json(), res.headers['Content-Type'], res.timings.waiting
//
// The host times every request and records k6's http_req_* samples. A failed request is still
// answered: `status` 0, with `error` and `error_code` set. The response stays in the host and
// each part crosses over when first read, so a script that checks only the status pays for
// no headers or body.

import * as host from 'stampede:host';

/** A duration to milliseconds: a number is milliseconds, a string Go-style (`'2s'`, `'1m30s'`). */
function durationMs(value) {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new TypeError(`invalid duration: ${value}`);
    return value;
  }
  const s = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const units = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let m; (m = re.exec(s)); end = re.lastIndex) total += Number(m[1]) * units[m[2]];
  if (end === 0 || end !== s.length) throw new TypeError(`invalid duration: '${s}'`);
  return total;
}

/** An object body is sent as an URL-encoded form, as in k6. */
function formBody(body) {
  const parts = [];
  for (const key of Object.keys(body)) {
    const v = body[key];
    const values = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
    for (const item of values) parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(item))}`);
  }
  return parts.join('&');
}

function hasHeader(headers, name) {
  for (const k in headers) if (k.toLowerCase() === name) return true;
  return false;
}

/** k6's (method, url, body, params) as the host's positional request arguments. */
function requestArgs(method, url, body, params) {
  const p = params ?? {};
  let headers = p.headers;
  if (body !== null && body !== undefined && typeof body === 'object' && !(body instanceof ArrayBuffer) && !ArrayBuffer.isView(body)) {
    body = formBody(body);
    if (!hasHeader(headers, 'content-type')) {
      headers = Object.assign({}, headers, { 'Content-Type': 'application/x-www-form-urlencoded' });
    }
  }
  let tags = p.tags;
  let name;
  if (tags && tags.name !== undefined) {
    name = String(tags.name);
    tags = Object.assign({}, tags);
    delete tags.name;
  }
  const responseType = p.responseType ?? 'text';
  if (responseType !== 'text' && responseType !== 'binary' && responseType !== 'none') {
    throw new TypeError(`unknown responseType '${responseType}' (use 'text', 'binary' or 'none')`);
  }
  const timeout = p.timeout === undefined || p.timeout === null ? undefined : durationMs(p.timeout);
  return [
    [String(method).toUpperCase(), String(url), headers, body, timeout, tags, name, p.redirects, responseType === 'none'],
    responseType,
  ];
}

/** `content-type` → `Content-Type`, as Go (and so k6) shows header names. */
function canonicalHeader(name) {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash, c) => dash + c.toUpperCase());
}

/**
 * A response, shaped as k6's. Parts are fetched from the host when first read and kept; the
 * host's response is released when the call that made it (iteration, setup, teardown) ends.
 */
export class Response {
  #h;
  #type;
  #status;
  #body;
  #headers;
  #timings;

  constructor(handle, request, responseType) {
    this.#h = handle;
    this.#type = responseType;
    /** What was sent: `{method, url, headers, body}`. */
    this.request = request;
  }

  /** HTTP status, or 0 when no response was received. */
  get status() {
    return (this.#status ??= host.status(this.#h));
  }

  /** k6's error code: 1000-1999 for failures, 1000 + status for status >= 400, else 0. */
  get error_code() {
    const v = host.errorCode(this.#h);
    Object.defineProperty(this, 'error_code', { value: v, enumerable: true });
    return v;
  }

  /** `HTTP/1.1`, or empty when no response was received. */
  get proto() {
    const v = host.proto(this.#h);
    Object.defineProperty(this, 'proto', { value: v, enumerable: true });
    return v;
  }

  /** The URL that answered (after redirects). */
  get url() {
    const v = host.url(this.#h);
    Object.defineProperty(this, 'url', { value: v, enumerable: true });
    return v;
  }

  /** Why the request failed; empty when it did not. */
  get error() {
    const v = host.error(this.#h);
    Object.defineProperty(this, 'error', { value: v, enumerable: true });
    return v;
  }

  /** Phase timings in milliseconds, with k6's names. */
  get timings() {
    return (this.#timings ??= host.timings(this.#h));
  }

  /** Response headers by canonical name (`Content-Type`); repeated ones joined by `, `. */
  get headers() {
    if (this.#headers === undefined) {
      const all = {};
      for (const [k, v] of host.headers(this.#h)) {
        const key = canonicalHeader(k);
        all[key] = key in all ? `${all[key]}, ${v}` : v;
      }
      this.#headers = all;
    }
    return this.#headers;
  }

  /** The body: a string (responseType 'text'), an ArrayBuffer ('binary') or null ('none'). */
  get body() {
    if (this.#body === undefined) {
      if (this.#type === 'none') this.#body = null;
      else if (this.#type === 'binary') this.#body = host.bodyBytes(this.#h);
      else this.#body = host.bodyText(this.#h);
    }
    return this.#body;
  }

  /** k6's status text, e.g. `200 OK` (the host does not report the reason phrase: the code). */
  get status_text() {
    return this.status ? String(this.status) : '';
  }

  /**
   * The body parsed as JSON. With a selector (`'items.0.id'`), the value at that path of
   * dot-separated keys and indexes (a subset of k6's gjson selectors).
   */
  json(selector) {
    let body = this.body;
    if (body === null) throw new Error('the response has no body (responseType is none)');
    if (typeof body !== 'string') body = host.bodyText(this.#h);
    let value = JSON.parse(body);
    if (selector !== undefined && selector !== '') {
      for (const key of String(selector).split('.')) {
        if (value === null || value === undefined) return undefined;
        value = value[key];
      }
    }
    return value;
  }

  /** A plain object of every part (reads them all), e.g. for logging. */
  toJSON() {
    const { status, proto, url, error, error_code, timings, headers, body } = this;
    return { status, proto, url, error, error_code, timings, headers, body };
  }
}

function requestInfo(args) {
  const [method, url, headers, body] = args;
  return { method, url, headers: headers ?? {}, body: body ?? null };
}

/** Sends one request: k6's `http.request(method, url, body, params)`. */
export function request(method, url, body, params) {
  const [args, responseType] = requestArgs(method, url, body, params);
  const h = host.request(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7], args[8]);
  return new Response(h, requestInfo(args), responseType);
}

export const get = (url, params) => request('GET', url, null, params);
export const head = (url, params) => request('HEAD', url, null, params);
export const post = (url, body, params) => request('POST', url, body, params);
export const put = (url, body, params) => request('PUT', url, body, params);
export const patch = (url, body, params) => request('PATCH', url, body, params);
export const del = (url, body, params) => request('DELETE', url, body, params);
export const options = (url, body, params) => request('OPTIONS', url, body, params);

/** One entry of `http.batch`: a URL, `[method, url, body, params]` or `{method, url, body, params}`. */
function batchItem(item) {
  if (typeof item === 'string') return requestArgs('GET', item, null, undefined);
  if (Array.isArray(item)) {
    const [method, url, body, params] = item;
    return requestArgs(method, url, body, params);
  }
  if (item && typeof item === 'object') {
    return requestArgs(item.method ?? 'GET', item.url, item.body, item.params);
  }
  throw new TypeError(`http.batch: cannot make a request of ${typeof item}`);
}

/**
 * Sends several requests concurrently and waits for all. Takes an array (returns an array of
 * responses in the same order) or an object of named requests (returns an object).
 */
export function batch(requests) {
  const named = !Array.isArray(requests);
  const keys = named ? Object.keys(requests) : null;
  const items = (named ? keys.map((k) => requests[k]) : requests).map(batchItem);
  const handles = host.batch(items.map((i) => i[0]));
  const responses = handles.map((h, i) => new Response(h, requestInfo(items[i][0]), items[i][1]));
  if (!named) return responses;
  const out = {};
  keys.forEach((k, i) => (out[k] = responses[i]));
  return out;
}

export default { request, get, head, post, put, patch, del, options, batch, Response };
