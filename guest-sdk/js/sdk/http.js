// `stampede/http` (k6/http): HTTP requests through the host, measured per phase.
//
//   import http from 'stampede/http';
//   const res = http.get(`${__ENV.BASE_URL}/items`, { headers: { accept: 'application/json' },
//                                                    tags: { name: 'items' }, timeout: '2s' });
//   res.status, res.body, res.json(), res.headers['Content-Type'], res.timings.waiting
//
// Every request goes through `stampede:script/http`, which times it and records k6's http_req_*
// samples. A failed request is still answered: `status` 0 and `error`/`error_code` set.
// Responses are host resources whose parts are fetched when read (see Response).

import { http as host } from './internal/host.js';
import { track } from './internal/state.js';
import { durationMs, fromUtf8, pairs, utf8 } from './internal/util.js';

const EMPTY = new Uint8Array(0);

/** The body of a request as bytes, and the content type it implies (for form objects). */
function encodeBody(body) {
  if (body === undefined || body === null) return [EMPTY, null];
  if (typeof body === 'string') return [utf8(body), null];
  if (body instanceof Uint8Array) return [body, null];
  if (body instanceof ArrayBuffer) return [new Uint8Array(body), null];
  if (ArrayBuffer.isView(body)) {
    return [new Uint8Array(body.buffer, body.byteOffset, body.byteLength), null];
  }
  if (typeof body === 'object') {
    // As k6: an object body is sent as an URL-encoded form.
    const form = new URLSearchParams();
    for (const key of Object.keys(body)) {
      const v = body[key];
      if (Array.isArray(v)) for (const item of v) form.append(key, String(item));
      else if (v !== undefined && v !== null) form.append(key, String(v));
    }
    return [utf8(form.toString()), 'application/x-www-form-urlencoded'];
  }
  return [utf8(String(body)), null];
}

/** Builds the WIT `request` record from k6's (method, url, body, params). */
function makeRequest(method, url, body, params) {
  const p = params ?? {};
  const [bytes, impliedType] = encodeBody(body);
  const headers = pairs(p.headers);
  if (impliedType && !headers.some(([k]) => k.toLowerCase() === 'content-type')) {
    headers.push(['Content-Type', impliedType]);
  }
  const tags = [];
  let name;
  if (p.tags) {
    for (const [k, v] of pairs(p.tags)) {
      if (k === 'name') name = v;
      else tags.push([k, v]);
    }
  }
  const cookies = requestCookies(p.cookies);
  const auth = p.auth === undefined || p.auth === null || p.auth === '' ? undefined : String(p.auth);
  if (auth !== undefined && auth !== 'basic' && auth !== 'digest') {
    throw new TypeError(`unsupported auth '${auth}' (stampede has 'basic' and 'digest')`);
  }
  const responseType = p.responseType ?? 'text';
  if (responseType !== 'text' && responseType !== 'binary' && responseType !== 'none') {
    throw new TypeError(`unknown responseType '${responseType}' (use 'text', 'binary' or 'none')`);
  }
  const req = {
    method: String(method).toUpperCase(),
    url: String(url),
    headers,
    body: bytes,
    timeoutMs: p.timeout === undefined || p.timeout === null ? undefined : Math.round(durationMs(p.timeout)),
    tags,
    name,
    maxRedirects: p.redirects === undefined || p.redirects === null ? undefined : p.redirects,
    discardBody: responseType === 'none',
    jar: jarChoice(p),
    cookies,
    compression: p.compression === undefined || p.compression === null ? '' : String(p.compression),
    auth,
  };
  return { req, responseType };
}

/** k6's `cookies` param: `{name: value}` or `{name: {value, replace}}`, as the WIT's list. */
function requestCookies(cookies) {
  const out = [];
  if (cookies === undefined || cookies === null) return out;
  for (const name of Object.keys(cookies)) {
    const c = cookies[name];
    if (c === undefined || c === null) continue;
    if (typeof c === 'object') {
      out.push({ name, value: c.value === undefined || c.value === null ? '' : String(c.value), replace: !!c.replace });
    } else {
      out.push({ name, value: String(c), replace: false });
    }
  }
  return out;
}

/** The WIT's `jar-choice` for k6's `jar` param: absent → the VU's, null → none, a jar → it. */
function jarChoice(p) {
  if (!('jar' in p) || p.jar === undefined) return { tag: 'vu' };
  if (p.jar === null) return { tag: 'no-jar' };
  if (p.jar instanceof CookieJar) return { tag: 'custom', val: p.jar._handle() };
  throw new TypeError('params.jar must be a CookieJar (http.cookieJar() or new http.CookieJar()) or null');
}

/** A number from a WIT s64 (a BigInt in JavaScript). */
const num = (v) => (typeof v === 'bigint' ? Number(v) : v);

/**
 * A cookie jar, as k6's: `http.cookieJar()` is the VU's (emptied at the start of every
 * iteration), `new http.CookieJar()` a new one for requests that name it with `jar`.
 */
export class CookieJar {
  #jar;

  constructor(handle) {
    this.#jar = handle ?? new host.CookieJar();
  }

  /** The host resource (for the request's `jar`). */
  _handle() {
    return this.#jar;
  }

  /** Stores `name=value` for `url`; `opts`: domain, path, expires (a date string), max_age, secure, http_only. */
  set(url, name, value, opts) {
    const o = opts ?? {};
    let expiresMs;
    if (o.expires !== undefined && o.expires !== null && o.expires !== '') {
      const t = Date.parse(String(o.expires));
      if (Number.isNaN(t)) throw new Error(`unable to parse "expires" date string "${o.expires}"`);
      expiresMs = BigInt(t);
    }
    this.#jar.set(String(url), String(name), value === undefined || value === null ? '' : String(value), {
      domain: o.domain === undefined || o.domain === null ? undefined : String(o.domain),
      path: o.path === undefined || o.path === null ? undefined : String(o.path),
      expiresMs,
      maxAge: o.max_age === undefined || o.max_age === null ? undefined : BigInt(Math.trunc(Number(o.max_age))),
      secure: !!o.secure,
      httpOnly: !!o.http_only,
    });
    return true;
  }

  /** The cookies a request to `url` would send: `{name: [value, …]}`. */
  cookiesForURL(url) {
    const out = {};
    for (const [name, value] of this.#jar.cookiesForUrl(String(url))) (out[name] ??= []).push(value);
    return out;
  }

  /** Removes every cookie a request to `url` would send. */
  clear(url) {
    this.#jar.clear(String(url));
  }

  /** Removes the cookie `name` a request to `url` would send. */
  delete(url, name) {
    this.#jar.delete(String(url), String(name));
  }
}

let vuJar = null;

/** The VU's cookie jar (k6's `http.cookieJar()`). */
export function cookieJar() {
  return (vuJar ??= new CookieJar(host.vuCookieJar()));
}

/** `content-type` → `Content-Type`, as Go (and so k6) shows header names. */
function canonicalHeader(name) {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash, c) => dash + c.toUpperCase());
}

const dispose = Symbol.dispose ?? Symbol.for('dispose');

/**
 * A response, shaped as k6's. The host keeps the response (a WIT resource) and hands each part
 * over when it is first read here, so a script that only looks at `status` does not copy headers
 * and body. The resource is dropped when the call that made it (the iteration, setup or
 * teardown) ends; parts read before then stay readable afterwards.
 */
export class Response {
  #res;
  #responseType;
  #status;
  #errorCode;
  #proto;
  #url;
  #error;
  #timings;
  #headers;
  #body;
  #cookies;

  constructor(res, request, responseType) {
    this.#res = res;
    this.#responseType = responseType;
    /** What was sent: `{method, url, headers}`. */
    this.request = request;
    track(this);
  }

  /** The host resource, while it lives. */
  #host() {
    if (this.#res === null) {
      throw new Error(
        `the response of ${this.request.method} ${this.request.url} is no longer available: ` +
          'read what you need from a response during the iteration that made it',
      );
    }
    return this.#res;
  }

  /** Drops the host resource (the runtime calls this when the call ends). */
  release() {
    if (this.#res !== null) {
      this.#res[dispose]();
      this.#res = null;
    }
  }

  /** HTTP status, or 0 when no response was received. */
  get status() {
    return (this.#status ??= this.#host().status());
  }

  /** k6's error code: 1000-1999 for failures, 1000 + status for status >= 400, else 0. */
  get error_code() {
    return (this.#errorCode ??= this.#host().errorCode());
  }

  /** `HTTP/1.1`, or empty when no response was received. */
  get proto() {
    return (this.#proto ??= this.#host().proto());
  }

  /** The URL that answered (after redirects). */
  get url() {
    return (this.#url ??= this.#host().url());
  }

  /** Why the request failed; empty when it did not. */
  get error() {
    return (this.#error ??= this.#host().error());
  }

  /** Phase timings in milliseconds, with k6's names. */
  get timings() {
    if (this.#timings === undefined) {
      const t = this.#host().timings();
      this.#timings = {
        blocked: t.blocked,
        connecting: t.connecting,
        tls_handshaking: t.tlsHandshaking,
        sending: t.sending,
        waiting: t.waiting,
        receiving: t.receiving,
        duration: t.duration,
      };
    }
    return this.#timings;
  }

  /**
   * Response headers, `{ 'Content-Type': 'text/plain' }`; repeated headers are joined by `, `.
   * Reading one name asks the host for that header only (`response.header`), which costs far
   * less than copying them all; enumerating the object (`Object.keys`, `JSON.stringify`, `in`
   * on a missing name) fetches them all once. Names are matched case-insensitively.
   */
  get headers() {
    if (this.#headers === undefined) {
      let all = null; // every header, once fetched
      const one = new Map(); // lower-case name -> value or undefined
      const fetchAll = () => {
        if (all === null) {
          all = {};
          for (const [k, v] of this.#host().headers()) {
            const key = canonicalHeader(k);
            all[key] = key in all ? `${all[key]}, ${v}` : v;
          }
        }
        return all;
      };
      const lookup = (name) => {
        const lower = name.toLowerCase();
        if (all !== null) return all[canonicalHeader(lower)];
        // The host's `header` answers a repeated header's values joined by `, `, as here.
        if (!one.has(lower)) one.set(lower, this.#host().header(lower));
        return one.get(lower);
      };
      this.#headers = new Proxy(Object.create(null), {
        get: (_, name) => (typeof name === 'string' ? lookup(name) : undefined),
        has: (_, name) => typeof name === 'string' && lookup(name) !== undefined,
        ownKeys: () => Reflect.ownKeys(fetchAll()),
        getOwnPropertyDescriptor: (_, name) => {
          const value = typeof name === 'string' ? fetchAll()[canonicalHeader(name.toLowerCase())] : undefined;
          return value === undefined ? undefined : { value, writable: false, enumerable: true, configurable: true };
        },
        set: () => false,
      });
    }
    return this.#headers;
  }

  /** The body: a string (responseType 'text'), an ArrayBuffer ('binary') or null ('none'). */
  get body() {
    if (this.#body === undefined) {
      if (this.#responseType === 'none') this.#body = null;
      else {
        const bytes = this.#host().body();
        this.#body =
          this.#responseType === 'binary'
            ? bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
            : fromUtf8(bytes);
      }
    }
    return this.#body;
  }

  /**
   * The cookies the response set, as k6 shows them: `{name: [{name, value, domain, path,
   * http_only, secure, max_age, expires}]}` (`expires` in ms since the epoch, 0 when absent).
   */
  get cookies() {
    if (this.#cookies === undefined) {
      const out = {};
      for (const c of this.#host().cookies()) {
        (out[c.name] ??= []).push({
          name: c.name,
          value: c.value,
          domain: c.domain,
          path: c.path,
          http_only: c.httpOnly,
          secure: c.secure,
          max_age: num(c.maxAge),
          expires: num(c.expires),
        });
      }
      this.#cookies = out;
    }
    return this.#cookies;
  }

  /**
   * The body parsed as JSON. With a selector (`'items.0.id'`), the value at that path of
   * dot-separated keys and indexes (a small subset of k6's gjson selectors).
   */
  json(selector) {
    const body = this.body;
    if (body === null) throw new Error('the response has no body (responseType is none)');
    const text = typeof body === 'string' ? body : fromUtf8(new Uint8Array(body));
    let value = JSON.parse(text);
    if (selector !== undefined && selector !== '') {
      for (const key of String(selector).split('.')) {
        if (value === null || value === undefined) return undefined;
        value = value[key];
      }
    }
    return value;
  }

  /** k6's status text; the host does not report the reason phrase, so it is the code. */
  get status_text() {
    return this.status ? String(this.status) : '';
  }

  /** A plain object of every part (reads them all), e.g. for logging. */
  toJSON() {
    const { status, proto, url, error, error_code, timings, headers, body } = this;
    return { status, proto, url, error, error_code, timings, headers, body };
  }
}

function requestInfo(req) {
  return { method: req.method, url: req.url, headers: Object.fromEntries(req.headers) };
}

/**
 * The request as `send-json` takes it: JSON, encoded natively, instead of a record whose every
 * string the componentize-js glue would encode character by character.
 */
function requestJson(req) {
  return utf8(
    JSON.stringify({
      method: req.method,
      url: req.url,
      headers: req.headers,
      timeoutMs: req.timeoutMs,
      tags: req.tags,
      name: req.name,
      maxRedirects: req.maxRedirects,
      discardBody: req.discardBody,
      cookies: req.cookies.length ? req.cookies.map((c) => [c.name, c.value, c.replace]) : undefined,
      compression: req.compression || undefined,
      auth: req.auth,
    }),
  );
}

/** Sends one request: k6's `http.request(method, url, body, params)`. */
export function request(method, url, body, params) {
  const { req, responseType } = makeRequest(method, url, body, params);
  return new Response(host.sendJson(requestJson(req), req.body, req.jar), requestInfo(req), responseType);
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
  if (typeof item === 'string' || item instanceof URL) return makeRequest('GET', item, null, undefined);
  if (Array.isArray(item)) {
    const [method, url, body, params] = item;
    return makeRequest(method, url, body, params);
  }
  if (item && typeof item === 'object') {
    return makeRequest(item.method ?? 'GET', item.url, item.body, item.params);
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
  const handles = host.batch(items.map((i) => i.req));
  const responses = handles.map((res, i) => new Response(res, requestInfo(items[i].req), items[i].responseType));
  if (!named) return responses;
  const out = {};
  keys.forEach((k, i) => (out[k] = responses[i]));
  return out;
}

export default { request, get, head, post, put, patch, del, options, batch, Response, CookieJar, cookieJar };
