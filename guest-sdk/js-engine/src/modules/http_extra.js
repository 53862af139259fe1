// k6/http's helpers around requests (`stampede:http-extra`, used by `k6/http`): `http.url`
// templates, the response callback that decides `http_req_failed` (`http.expectedStatuses`,
// `http.setResponseCallback`, the `responseCallback` param) and k6's constants.

import * as host from 'stampede:host';

export const TLS_1_0 = 'tls1.0';
export const TLS_1_1 = 'tls1.1';
export const TLS_1_2 = 'tls1.2';
export const TLS_1_3 = 'tls1.3';
export const OCSP_STATUS_GOOD = 'good';
export const OCSP_STATUS_REVOKED = 'revoked';
export const OCSP_STATUS_SERVER_FAILED = 'server_failed';
export const OCSP_STATUS_UNKNOWN = 'unknown';
export const OCSP_REASON_UNSPECIFIED = 'unspecified';
export const OCSP_REASON_KEY_COMPROMISE = 'key_compromise';
export const OCSP_REASON_CA_COMPROMISE = 'ca_compromise';
export const OCSP_REASON_AFFILIATION_CHANGED = 'affiliation_changed';
export const OCSP_REASON_SUPERSEDED = 'superseded';
export const OCSP_REASON_CESSATION_OF_OPERATION = 'cessation_of_operation';
export const OCSP_REASON_CERTIFICATE_HOLD = 'certificate_hold';
export const OCSP_REASON_REMOVE_FROM_CRL = 'remove_from_crl';
export const OCSP_REASON_PRIVILEGE_WITHDRAWN = 'privilege_withdrawn';
export const OCSP_REASON_AA_COMPROMISE = 'aa_compromise';

/**
 * What `` http.url`…` `` makes: the URL, and the template with `${}` for each value, which
 * names the request (its `name` and `url` tags) so that `/items/1` and `/items/2` share a series.
 */
export class TemplateURL {
  constructor(urlString, name) {
    this.name = name;
    this.url = urlString;
    this.clean_url = cleanURL(urlString);
    if (urlString === name) this.name = this.clean_url;
  }
}

/** The URL with its credentials masked, as k6 shows it (`http://****:****@host/`). */
export function cleanURL(u) {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^@/?#]*)@/.exec(u);
  if (!m) return u;
  const masked = m[2].includes(':') ? '****:****' : '****';
  return `${m[1]}${masked}@${u.slice(m[0].length)}`;
}

/** k6's `http.url` tagged template: `` http.url`${base}/items/${id}` ``. */
export function url(strings, ...values) {
  if (!strings || !Array.isArray(strings)) {
    throw new TypeError('http.url is a tagged template: write http.url`https://host/items/${id}`');
  }
  let name = '';
  let text = '';
  strings.forEach((part, i) => {
    name += part;
    text += part;
    if (i < values.length) {
      name += '${}';
      text += String(values[i]);
    }
  });
  return new TemplateURL(text, name);
}

/** k6's `http.expectedStatuses(…)`: the statuses (or `{min, max}` ranges) that are expected. */
export class ExpectedStatuses {
  #exact;
  #ranges;

  constructor(exact, ranges) {
    this.#exact = exact;
    this.#ranges = ranges;
  }

  /** `[statuses, ranges]` for the host. */
  get parts() {
    return [this.#exact, this.#ranges];
  }
}

/** The statuses 200–399: k6's default response callback. */
const DEFAULT = new ExpectedStatuses([], [[200, 399]]);

export function expectedStatuses(...args) {
  if (args.length === 0) throw new Error('no arguments');
  const exact = [];
  const ranges = [];
  args.forEach((arg, i) => {
    if (Number.isInteger(arg)) {
      exact.push(arg);
      return;
    }
    if (arg === null || arg === undefined || arg.min === undefined || arg.max === undefined) {
      throw new Error(
        `argument number ${i + 1} to expectedStatuses was neither an integer nor an object like {min:100, max:329}`,
      );
    }
    if (!Number.isInteger(arg.min) || !Number.isInteger(arg.max)) {
      throw new Error(`both min and max need to be integers for argument number ${i + 1}`);
    }
    ranges.push([arg.min, arg.max]);
  });
  return new ExpectedStatuses(exact, ranges);
}

/** The VU's response callback: an ExpectedStatuses, or null (nothing is expected or failed). */
let current = DEFAULT;

function apply(callback) {
  if (callback === null) host.setResponseCallback(null, null);
  else host.setResponseCallback(...callback.parts);
}

/**
 * k6's `http.setResponseCallback`: which responses this VU's requests count as expected
 * (`http_req_failed` and the `expected_response` tag); `null` records neither.
 */
export function setResponseCallback(callback) {
  if (callback !== null && callback !== undefined && !(callback instanceof ExpectedStatuses)) {
    throw new Error('unsupported argument, expected http.expectedStatuses');
  }
  current = callback ?? null;
  apply(current);
}

/**
 * A request's `responseCallback` param: `undefined` when it has none (the VU's is used), else
 * an ExpectedStatuses or null (as in k6, a `responseCallback` of `undefined` is null).
 */
export function responseCallbackOf(params) {
  if (!('responseCallback' in params)) return undefined;
  const cb = params.responseCallback;
  if (cb === null || cb === undefined) return null;
  if (cb instanceof ExpectedStatuses) return cb;
  throw new TypeError('unsupported responseCallback');
}

/** Runs `send` with the request's own response callback, if it has one. */
export function withResponseCallback(callback, send) {
  if (callback === undefined || callback === current) return send();
  apply(callback);
  try {
    return send();
  } finally {
    apply(current);
  }
}

/**
 * Sends the requests of `items` (each `[args, …, callback]`) with `send(argsList)`, as few
 * calls as their callbacks allow: one per distinct callback, in the order first seen. Returns
 * the handles in the order of `items`.
 */
export function sendGrouped(items, send) {
  const groups = new Map();
  items.forEach((item, i) => {
    const cb = item[2] === undefined ? current : item[2];
    if (!groups.has(cb)) groups.set(cb, []);
    groups.get(cb).push(i);
  });
  const handles = new Array(items.length);
  for (const [cb, indexes] of groups) {
    const got = withResponseCallback(cb, () => send(indexes.map((i) => items[i][0])));
    indexes.forEach((i, j) => (handles[i] = got[j]));
  }
  return handles;
}
