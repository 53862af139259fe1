// Web APIs scripts use besides k6's: `fetch` and `Headers`, installed as globals when the
// engine starts. `fetch` goes through the same host client as `k6/http` and is measured the
// same way; two request headers, removed before sending, set tags: `x-stampede-name: NAME`
// sets the `name` tag and `x-stampede-tag-KEY: VALUE` adds `KEY=VALUE`.

import * as host from 'stampede:host';

/** Header names are case-insensitive; values of a repeated name are joined by `, `. */
class Headers {
  #map = new Map(); // lower-case name -> value

  constructor(init) {
    if (init === undefined || init === null) return;
    if (init instanceof Headers) init.forEach((v, k) => this.append(k, v));
    else if (Array.isArray(init)) for (const [k, v] of init) this.append(k, v);
    else for (const k of Object.keys(init)) this.append(k, init[k]);
  }

  append(name, value) {
    const k = String(name).toLowerCase();
    const v = String(value);
    this.#map.set(k, this.#map.has(k) ? `${this.#map.get(k)}, ${v}` : v);
  }

  set(name, value) {
    this.#map.set(String(name).toLowerCase(), String(value));
  }

  get(name) {
    return this.#map.get(String(name).toLowerCase()) ?? null;
  }

  has(name) {
    return this.#map.has(String(name).toLowerCase());
  }

  delete(name) {
    this.#map.delete(String(name).toLowerCase());
  }

  forEach(fn, self) {
    for (const [k, v] of this.#map) fn.call(self, v, k, this);
  }

  *entries() {
    yield* this.#map.entries();
  }

  *keys() {
    yield* this.#map.keys();
  }

  *values() {
    yield* this.#map.values();
  }

  [Symbol.iterator]() {
    return this.entries();
  }
}

/** What `fetch` resolves to. The body can be read once, as text, JSON or bytes. */
class FetchResponse {
  #h;
  #used = false;

  constructor(handle) {
    this.#h = handle;
    this.status = host.status(handle);
    this.statusText = '';
    this.ok = this.status >= 200 && this.status < 300;
    this.url = host.url(handle);
    this.headers = new Headers(host.headers(handle));
    this.redirected = false;
    this.type = 'basic';
  }

  get bodyUsed() {
    return this.#used;
  }

  #take() {
    if (this.#used) throw new TypeError('the body of this response was already read');
    this.#used = true;
  }

  async text() {
    this.#take();
    return host.bodyText(this.#h);
  }

  async json() {
    this.#take();
    return JSON.parse(host.bodyText(this.#h));
  }

  async arrayBuffer() {
    this.#take();
    return host.bodyBytes(this.#h);
  }
}

/** `fetch(url, init)`: sends the request through the host and resolves with its response. */
async function fetch(input, init = {}) {
  const url = typeof input === 'string' ? input : String(input?.url ?? input);
  const headers = {};
  const tags = {};
  let name;
  new Headers(init.headers).forEach((value, key) => {
    if (key === 'x-stampede-name') name = value;
    else if (key.startsWith('x-stampede-tag-')) tags[key.slice('x-stampede-tag-'.length)] = value;
    else headers[key] = value;
  });
  const redirects = init.redirect === 'manual' || init.redirect === 'error' ? 0 : undefined;
  const h = host.request(fetchMethod(init.method), url, headers, init.body, undefined, tags, name, redirects, false);
  const res = new FetchResponse(h);
  const error = host.error(h);
  if (res.status === 0) throw new TypeError(`fetch failed: ${error}`);
  return res;
}

globalThis.fetch = fetch;
globalThis.Headers = Headers;

/** A fetch's method as the Fetch standard normalizes it: the six standard ones in capitals
 * whatever their case, any other as given (`patch` stays `patch`). */
function fetchMethod(method) {
  const m = String(method ?? 'GET');
  const upper = m.toUpperCase();
  return ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'].includes(upper) ? upper : m;
}
