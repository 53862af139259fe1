// k6/http's responses as HTML pages (preloaded: a few lines; `k6/html` itself is evaluated
// when a script first parses a page):
//
// - `res.html(selector)`: the body as a `k6/html` document, or what the selector finds in it;
// - `res.clickLink({selector, params})`: a GET of the first matching link's `href`;
// - `res.submitForm({formSelector, fields, submitSelector, params})`: the form sent as a
//   browser would (its method, its action resolved against the page's URL, its fields, the
//   submit button's name and value, then `fields`), as k6 sends it.

import { Response, request } from 'k6/http';
import { queryEscape } from 'stampede:http-body';
import { html } from 'stampede:lazy';

function define(name, value) {
  if (!(name in Response.prototype)) {
    Object.defineProperty(Response.prototype, name, { value, writable: true, configurable: true });
  }
}

define('html', function (selector) {
  if (this.body === null) {
    throw new Error(
      "the body is null so we can't transform it to HTML - this likely was because of a request error getting the response",
    );
  }
  const doc = html().parseHTML(this.body);
  return selector === undefined ? doc : doc.find(selector);
});

define('clickLink', function (args) {
  const a = args ?? {};
  const selector = a.selector === undefined ? 'a[href]' : String(a.selector);
  const link = this.html(selector);
  if (link.size() === 0) throw new Error(`no element found for selector '${selector}' in response '${this.url}'`);
  const href = link.attr('href');
  if (href === undefined) {
    throw new Error(`no valid href attribute value found on element '${selector}' in response '${this.url}'`);
  }
  return request('GET', resolveURL(this.url, String(href)), undefined, a.params ?? null);
});

define('submitForm', function (args) {
  const a = args ?? {};
  const formSelector = a.formSelector === undefined ? 'form' : String(a.formSelector);
  const submitSelector = a.submitSelector === undefined ? '[type="submit"]' : String(a.submitSelector);
  const form = this.html(formSelector);
  if (form.size() === 0) throw new Error(`no form found for selector '${formSelector}' in response '${this.url}'`);
  const methodAttr = form.attr('method');
  const method = methodAttr === undefined ? 'GET' : String(methodAttr).toUpperCase();
  const action = form.attr('action');
  let target = action === undefined ? this.url : resolveURL(this.url, String(action));
  const values = form.serializeObject();
  const submit = form.find(submitSelector);
  const submitName = submit.attr('name');
  const submitValue = submit.val();
  if (submitName !== undefined && submitValue !== undefined) values[submitName] = submitValue;
  if (a.fields && typeof a.fields === 'object') Object.assign(values, a.fields);
  const params = a.params ?? null;
  if (method === 'GET') {
    // As k6: the form's fields replace the action's query, sorted as Go's url.Values sorts.
    const query = Object.keys(values)
      .sort()
      .map((k) => `${queryEscape(k)}=${queryEscape(String(values[k]))}`)
      .join('&');
    target = withQuery(target, query);
    return request(method, target, null, params);
  }
  return request(method, target, values, params);
});

/** `u` with its query replaced by `query` (none when empty), its fragment kept. */
function withQuery(u, query) {
  const hash = u.indexOf('#');
  const frag = hash < 0 ? '' : u.slice(hash);
  let rest = hash < 0 ? u : u.slice(0, hash);
  const q = rest.indexOf('?');
  if (q >= 0) rest = rest.slice(0, q);
  return `${rest}${query === '' ? '' : `?${query}`}${frag}`;
}

/** The parts of an absolute URL: `[scheme://authority, path, ?query, #fragment]`. */
function split(u) {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:(?:\/\/[^/?#]*)?)([^?#]*)(\?[^#]*)?(#.*)?$/.exec(u);
  return m ? [m[1], m[2], m[3] ?? '', m[4] ?? ''] : ['', u, '', ''];
}

/** RFC 3986's remove_dot_segments. */
function removeDots(path) {
  const out = [];
  const segs = path.split('/');
  segs.forEach((s, i) => {
    const last = i === segs.length - 1;
    if (s === '..') {
      if (out.length > 1) out.pop();
      if (last) out.push('');
    } else if (s === '.') {
      if (last) out.push('');
    } else {
      out.push(s);
    }
  });
  const joined = out.join('/');
  return path.startsWith('/') && !joined.startsWith('/') ? `/${joined}` : joined;
}

/** `ref` resolved against the page's URL `base`, as Go's `URL.ResolveReference` does. */
export function resolveURL(base, ref) {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(ref)) {
    const [origin, path, query, frag] = split(ref);
    return origin + removeDots(path) + query + frag;
  }
  const [origin, basePath, baseQuery, baseFrag] = split(base);
  if (ref.startsWith('//')) return base.slice(0, base.indexOf(':') + 1) + ref;
  if (ref === '') return origin + basePath + baseQuery + baseFrag;
  const [, path, query, frag] = split(`x:${ref}`);
  if (path === '') return origin + basePath + (query || (frag ? baseQuery : query)) + frag;
  if (path.startsWith('/')) return origin + removeDots(path) + query + frag;
  const dir = basePath.slice(0, basePath.lastIndexOf('/') + 1) || '/';
  return origin + removeDots(dir + path) + query + frag;
}
