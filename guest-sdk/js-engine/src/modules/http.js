// `k6/http` (also `stampede/http`): HTTP requests through the host, measured per phase.
//
//   import http from 'k6/http';
//   const res = http.get(`${__ENV.BASE_URL}/items`, { headers: { accept: 'application/json' },
//                                                   tags: { name: 'items' }, timeout: '2s' });
//   res.status, res.body, res.json(), res.headers['Content-Type'], res.timings.waiting
//   http.post(url, body, { cookies: { sid: { value: '1', replace: true } }, jar: null,
//                          compression: 'gzip', auth: 'digest', httpVersion: '1.1', redirects: 0 });
//   http.cookieJar().cookiesForURL(url), res.cookies.sid[0].value
//
// The host times every request and records k6's http_req_* samples. A failed request is still
// answered: `status` 0, with `error` and `error_code` set. The response stays in the host and
// each part crosses over when first read, so a script that checks only the status pays for
// no headers or body.

import * as host from 'stampede:host';
import { gjson } from 'stampede:lazy';
import { inInit } from 'stampede:files';
import { FileData, file, formBody, hasFile, multipartBody } from 'stampede:http-body';
import {
  ExpectedStatuses, TemplateURL, cleanURL, expectedStatuses, url, responseCallbackOf, sendGrouped,
  setResponseCallback, withResponseCallback,
} from 'stampede:http-extra';

export { FileData, file, ExpectedStatuses, expectedStatuses, url, setResponseCallback };

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

function hasHeader(headers, name) {
  for (const k in headers) if (k.toLowerCase() === name) return true;
  return false;
}

/** A request body as k6 sends it, with the `Content-Type` an object body implies. */
function bodyOf(body, headers) {
  if (body === null || body === undefined || typeof body !== 'object') return [body, headers];
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return [body, headers];
  if (Array.isArray(body)) throw new TypeError('unknown request body type: an array (send a string, an object or an ArrayBuffer)');
  let type;
  if (hasFile(body)) [body, type] = multipartBody(body);
  else [body, type] = [formBody(body), 'application/x-www-form-urlencoded'];
  if (!hasHeader(headers, 'content-type')) headers = Object.assign({}, headers, { 'Content-Type': type });
  return [body, headers];
}

/**
 * k6's (method, url, body, params) as the host's positional request arguments, the response
 * type, and the request's response callback (`undefined`: the VU's).
 */
function requestArgs(method, url, body, params) {
  const p = params ?? {};
  let headers = p.headers;
  [body, headers] = bodyOf(body, headers);
  let tags = p.tags;
  let name;
  if (tags && tags.name !== undefined) {
    name = String(tags.name);
    tags = Object.assign({}, tags);
    delete tags.name;
  }
  if (url instanceof TemplateURL) {
    // As k6: the template names the request unless a `name` tag does.
    if (name === undefined && url.name !== '' && url.name !== url.clean_url) name = url.name;
    url = url.url;
  }
  const responseType = p.responseType ?? (discardsBodies() ? 'none' : 'text');
  if (responseType !== 'text' && responseType !== 'binary' && responseType !== 'none') {
    throw new TypeError(`unknown responseType '${responseType}' (use 'text', 'binary' or 'none')`);
  }
  const timeout = p.timeout === undefined || p.timeout === null ? undefined : durationMs(p.timeout);
  return [
    [
      String(method), String(url), headers, body, timeout, tags, name, p.redirects, responseType === 'none',
      jarOf(p.jar), p.cookies ?? undefined, p.compression ?? undefined, p.auth ?? undefined, p.httpVersion ?? undefined,
      // k6's `throw` for this request (else the test's option).
      typeof p.throw === 'boolean' ? p.throw : undefined,
    ],
    responseType,
    responseCallbackOf(p),
  ];
}

/** Go's encoding/json's deepest nesting (k6's `res.json()`). */
const MAX_JSON_DEPTH = 10000;

let discards;
/** The test's `discardResponseBodies`: a request's `responseType` when it gives none. */
function discardsBodies() {
  discards ??= JSON.parse(host.execOptions()).discardResponseBodies === true;
  return discards;
}

/** k6's `jar` param as the host's: absent → the VU's (undefined), null → none, a jar → its box. */
function jarOf(jar) {
  if (jar === undefined || jar === null) return jar;
  if (jar instanceof CookieJar) return jar.box;
  throw new TypeError('params.jar must be a CookieJar (http.cookieJar() or new http.CookieJar()) or null');
}

/**
 * A cookie jar, as k6's: `http.cookieJar()` is the VU's (emptied at the start of every
 * iteration), `new http.CookieJar()` one of the script's own, for the requests that name it
 * with `jar`.
 */
export class CookieJar {
  #box;

  constructor(box) {
    this.#box = box ?? host.newJar();
  }

  /** The host's jar (for a request's `jar`). */
  get box() {
    return this.#box;
  }

  /**
   * Stores `name=value` for `url`, as if a response from `url` had set it; `opts`: `domain`,
   * `path`, `expires` (a date string), `max_age` (seconds), `secure`, `http_only`.
   */
  set(url, name, value, opts) {
    const o = opts ?? {};
    let expires;
    if (o.expires !== undefined && o.expires !== null && o.expires !== '') {
      expires = Date.parse(String(o.expires));
      if (Number.isNaN(expires)) throw new Error(`unable to parse "expires" date string "${o.expires}"`);
    }
    const str = (v) => (v === undefined || v === null ? undefined : String(v));
    const maxAge = o.max_age === undefined || o.max_age === null ? undefined : Math.trunc(Number(o.max_age));
    return host.jarSet(this.#box, String(url), String(name), str(value) ?? '', {
      domain: str(o.domain), path: str(o.path), expiresMs: expires, maxAge, secure: !!o.secure, httpOnly: !!o.http_only,
    });
  }

  /** The cookies a request to `url` would send: `{name: [value, …]}`. */
  cookiesForURL(url) {
    return host.jarCookies(this.#box, String(url));
  }

  /** Removes every cookie a request to `url` would send. */
  clear(url) {
    host.jarClear(this.#box, String(url));
  }

  /** Removes the cookie `name` stored for `url`. */
  delete(url, name) {
    host.jarDelete(this.#box, String(url), String(name));
  }
}

let vuJar;

/** The VU's cookie jar (k6's `http.cookieJar()`); the same object every time. */
export function cookieJar() {
  return (vuJar ??= new CookieJar(host.vuJar()));
}

/** `content-type` → `Content-Type`, as Go (and so k6) shows header names. */
function canonicalHeader(name) {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash, c) => dash + c.toUpperCase());
}

/**
 * A response, shaped as k6's. Parts are fetched from the host when first read and kept; the
 * host's response is released when the call that made it (iteration, setup, teardown) ends.
 */
/**
 * What `json()` parsed, kept as k6 keeps it (a change to it is seen by the next call): a
 * property made on the first call only, not a private field, so that a response whose JSON is
 * never read has the shape it had (a new shape per VU writes into the runtime's shape table).
 */
const PARSED = Symbol('parsed JSON');

export class Response {
  #h;
  #type;
  #status;
  #body;
  #headers;
  #timings;
  #cookies;
  #conn;

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
    let v = host.url(this.#h);
    // k6 gives the URL as the script wrote it, credentials and all (the host does too, but
    // as the URL parser writes it: `http://u:p@host` gains a `/`).
    const asked = this.request?.url;
    if (typeof asked === 'string' && asked !== v && cleanURL(asked) === cleanURL(v)) v = asked;
    Object.defineProperty(this, 'url', { value: v, enumerable: true });
    return v;
  }

  /** Why the request failed; empty when it did not. */
  get error() {
    const v = host.error(this.#h);
    Object.defineProperty(this, 'error', { value: v, enumerable: true });
    return v;
  }

  /** The connection's facts, fetched once for the four of them. */
  get #connection() {
    return (this.#conn ??= host.connection(this.#h));
  }

  /** The server's IP address (`127.0.0.1`); empty when no connection was made. */
  get remote_ip() {
    return this.#connection.remote_ip;
  }

  /** The server's port; 0 when no connection was made. */
  get remote_port() {
    return this.#connection.remote_port;
  }

  /** `tls1.2`, `tls1.3` (k6's `http.TLS_1_3`…); empty over plain HTTP. */
  get tls_version() {
    return this.#connection.tls_version;
  }

  /** The TLS cipher suite by its Go name (`TLS_AES_128_GCM_SHA256`); empty over plain HTTP. */
  get tls_cipher_suite() {
    return this.#connection.tls_cipher_suite;
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

  /**
   * The body: a string (responseType 'text'), an ArrayBuffer ('binary'), or null — for
   * responseType 'none', a request that got no response, and the statuses that never have a
   * body (1xx, 204, 304), as in k6.
   */
  get body() {
    if (this.#body === undefined) {
      const s = this.status;
      if (this.#type === 'none' || s < 200 || s === 204 || s === 304) this.#body = null;
      else if (this.#type === 'binary') this.#body = host.bodyBytes(this.#h);
      else this.#body = host.bodyText(this.#h);
    }
    return this.#body;
  }

  /** k6's status text, e.g. `200 OK`: the code and its standard reason phrase. */
  get status_text() {
    const status = this.status;
    if (!status) return '';
    const reason = REASONS[status];
    return reason ? `${status} ${reason}` : String(status);
  }

  /**
   * The cookies the response set, as k6 shows them: `{name: [{name, value, domain, path,
   * http_only, secure, max_age, expires}]}` (`expires` in ms since the epoch, 0 when absent).
   */
  get cookies() {
    if (this.#cookies === undefined) {
      const out = {};
      for (const c of host.cookies(this.#h)) (out[c.name] ??= []).push(c);
      this.#cookies = out;
    }
    return this.#cookies;
  }

  /**
   * The body parsed as JSON. With a selector, the value at that GJSON path (`items.#.id`,
   * `items.#(price>10)#.name`, …; see gjson.js), or `undefined` when the body is not JSON or
   * the path leads nowhere, as in k6.
   */
  json(selector) {
    if (selector === undefined && Object.hasOwn(this, PARSED)) return this[PARSED];
    let body = this.body;
    if (body === null) throw new Error(nullBody('JSON'));
    if (typeof body !== 'string') body = host.bodyText(this.#h);
    // Go's encoding/json (k6's) refuses JSON nested deeper than this; QuickJS's parser would
    // run out of the wasm stack somewhat past 30,000 levels, which no `catch` can see.
    const tooDeep = host.jsonDepth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH;
    if (selector === undefined) {
      if (tooDeep) throw new SyntaxError('exceeded max depth');
      const parsed = JSON.parse(body);
      Object.defineProperty(this, PARSED, { value: parsed });
      return parsed;
    }
    let doc;
    try {
      if (tooDeep) return undefined;
      doc = JSON.parse(body);
    } catch {
      return undefined;
    }
    return gjson().select(doc, selector);
  }

  /** A plain object of every part (reads them all), e.g. for logging. */
  toJSON() {
    const { status, status_text, proto, url, error, error_code, timings, headers, cookies, body } = this;
    const { remote_ip, remote_port, tls_version, tls_cipher_suite } = this;
    return {
      status, status_text, proto, url, error, error_code, timings, headers, cookies, body, remote_ip, remote_port,
      tls_version, tls_cipher_suite,
    };
  }
}

/** The reason phrases of RFC 9110 (and Go's `http.StatusText`), for `status_text`. */
const REASONS = {
  100: 'Continue', 101: 'Switching Protocols', 102: 'Processing', 103: 'Early Hints',
  200: 'OK', 201: 'Created', 202: 'Accepted', 203: 'Non-Authoritative Information', 204: 'No Content',
  205: 'Reset Content', 206: 'Partial Content', 207: 'Multi-Status', 208: 'Already Reported', 226: 'IM Used',
  300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 304: 'Not Modified',
  305: 'Use Proxy', 307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 406: 'Not Acceptable', 407: 'Proxy Authentication Required', 408: 'Request Timeout',
  409: 'Conflict', 410: 'Gone', 411: 'Length Required', 412: 'Precondition Failed', 413: 'Request Entity Too Large',
  414: 'Request URI Too Long', 415: 'Unsupported Media Type', 416: 'Requested Range Not Satisfiable',
  417: 'Expectation Failed', 418: "I'm a teapot", 421: 'Misdirected Request', 422: 'Unprocessable Entity',
  423: 'Locked', 424: 'Failed Dependency', 425: 'Too Early', 426: 'Upgrade Required', 428: 'Precondition Required',
  429: 'Too Many Requests', 431: 'Request Header Fields Too Large', 451: 'Unavailable For Legal Reasons',
  500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable',
  504: 'Gateway Timeout', 505: 'HTTP Version Not Supported', 506: 'Variant Also Negotiates',
  507: 'Insufficient Storage', 508: 'Loop Detected', 510: 'Not Extended', 511: 'Network Authentication Required',
};

/** `res.request`: what was sent (`{method, url, headers, body, cookies}`). */
function requestInfo(args) {
  const [method, url, headers, body] = args;
  return { method, url, headers: headers ?? {}, body: body ?? null, cookies: args[10] ?? {} };
}

/** Sends one request: k6's `http.request(method, url, body, params)`. */
export function request(method, url, body, params) {
  const [a, responseType, callback] = requestArgs(method, url, body, params);
  const h = withResponseCallback(callback, () =>
    host.request(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14]));
  return new Response(h, requestInfo(a), responseType);
}

/** k6's error for `json()` of a response without a body (`html()` has its own). */
function nullBody(what) {
  return `the body is null so we can't transform it to ${what} - this likely was because of a request error getting the response`;
}

/**
 * What an `asyncRequest` that got no response is rejected with when k6's `throw` option is
 * set: as k6's, a Go `*url.Error` rather than an `Error` — `String(e)` (and `e.error()`) is
 * `Get "http://host/": why`, with `op` and `url`.
 */
function requestFailure(method, url, why) {
  const op = method.charAt(0) + method.slice(1).toLowerCase();
  const message = `${op} "${url}": ${why}`;
  // Marked so that `console.log` prints it as k6 prints a Go error: its message.
  return { op, url, err: why, error: () => message, toString: () => message, [Symbol.for('stampede.goError')]: true };
}

/**
 * k6's `http.asyncRequest(method, url, body, params)`: a promise of the response. The request
 * starts at once and runs on the host while the script goes on (other requests, `sleep`,
 * timers, JavaScript); its promise settles when the event loop sees it complete, in the order
 * requests complete.
 */
export function asyncRequest(method, url, body, params) {
  // As k6 (which throws, rather than rejects): nothing would wait for the request.
  if (inInit()) throw new Error('Making http requests in the init context is not supported');
  let a;
  let responseType;
  let callback;
  try {
    [a, responseType, callback] = requestArgs(method, url, body, params);
  } catch (e) {
    return Promise.reject(e);
  }
  return new Promise((resolve, reject) => {
    const done = (h, error) => {
      if (error === undefined) resolve(new Response(h, requestInfo(a), responseType));
      else reject(requestFailure(a[0], a[1], error));
    };
    withResponseCallback(callback, () =>
      host.startRequest(done, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14]));
  });
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
  if (typeof item === 'string' || item instanceof TemplateURL) return requestArgs('GET', item, null, undefined);
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
  // Requests with different response callbacks go as one batch per callback, in turn.
  const handles = sendGrouped(items, (list) => host.batch(list));
  const responses = handles.map((h, i) => new Response(h, requestInfo(items[i][0]), items[i][1]));
  if (!named) return responses;
  const out = {};
  keys.forEach((k, i) => (out[k] = responses[i]));
  return out;
}

export {
  TLS_1_0, TLS_1_1, TLS_1_2, TLS_1_3, OCSP_STATUS_GOOD, OCSP_STATUS_REVOKED, OCSP_STATUS_SERVER_FAILED,
  OCSP_STATUS_UNKNOWN, OCSP_REASON_UNSPECIFIED, OCSP_REASON_KEY_COMPROMISE, OCSP_REASON_CA_COMPROMISE,
  OCSP_REASON_AFFILIATION_CHANGED, OCSP_REASON_SUPERSEDED, OCSP_REASON_CESSATION_OF_OPERATION,
  OCSP_REASON_CERTIFICATE_HOLD, OCSP_REASON_REMOVE_FROM_CRL, OCSP_REASON_PRIVILEGE_WITHDRAWN,
  OCSP_REASON_AA_COMPROMISE,
} from 'stampede:http-extra';
import * as constants from 'stampede:http-extra';

const http = {
  request, asyncRequest, get, head, post, put, patch, del, options, batch, cookieJar, CookieJar, Response, file, url,
  expectedStatuses, setResponseCallback,
};
// k6's constants are read-only properties of the default export.
for (const name of Object.keys(constants)) {
  if (/^(TLS|OCSP)_/.test(name)) {
    Object.defineProperty(http, name, { value: constants[name], enumerable: true, writable: false, configurable: false });
  }
}
export default http;
