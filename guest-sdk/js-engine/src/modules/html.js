// `k6/html` (also `stampede/html`): HTML parsed and queried with CSS selectors, as k6 has it
// (`res.html()` is in `html_response.js`).
//
//   import { parseHTML } from 'k6/html';
//   const doc = parseHTML(res.body);
//   const token = doc.find('input[name=csrf]').val();
//   doc.find('a.product').each((i, a) => links.push(a.getAttribute('href')));
//   const title = res.html('title').text();
//
// Not preloaded: its objects would cost every VU memory (the collector touches them).

import { parseHTML as parse } from 'stampede:html';

/** The document `source` (a string, or anything with a text form) as a selection. */
export function parseHTML(source) {
  return parse(source === undefined || source === null ? '' : String(source));
}

// What k6's Selection has beyond queries, written over the native methods.
const Selection = Object.getPrototypeOf(parse(''));

// Words that k6 (Go's naming rules) writes in capitals in a data attribute's property name:
// `data-user-id` is `userID`.
const INITIALISMS = new Set(['acl', 'api', 'ascii', 'cpu', 'css', 'dns', 'eof', 'guid', 'html', 'http', 'https', 'id', 'ip', 'json', 'lhs', 'qps', 'ram', 'rhs', 'rpc', 'sla', 'smtp', 'sql', 'ssh', 'tcp', 'tls', 'ttl', 'udp', 'ui', 'uid', 'uuid', 'uri', 'url', 'utf8', 'vm', 'xml', 'xmpp', 'xsrf', 'xss']);

/** `user-id` → `userID`, as k6 names data attributes. */
function attrToProperty(name) {
  const [first, ...rest] = name.split('-');
  return first + rest.map((w) => (INITIALISMS.has(w) ? w.toUpperCase() : w.charAt(0).toUpperCase() + w.slice(1))).join('');
}

/** `userId` or `userID` → `user-id`. */
function propertyToAttr(name) {
  return name
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase();
}

/** A data attribute's value as k6 reads it: JSON objects and arrays, booleans, numbers. */
function dataValue(text) {
  if (text === '' || text === 'null' || text === 'undefined') return undefined;
  if (text[0] === '{' || text[0] === '[') {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  if (text === 'true') return true;
  if (text === 'false') return false;
  const n = Number(text);
  return Number.isFinite(n) && String(n) === text ? n : text;
}

const SUBMITTABLE = 'input,select,textarea,keygen';
const NOT_SENT = new Set(['submit', 'button', 'reset', 'image', 'file']);

/** Go's url.QueryEscape: only letters, digits and `-_.~` stay as they are; spaces become `+`. */
const queryEscape = (s) =>
  encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');

Object.assign(Selection, {
  /** The `data-*` attributes of the first element: one by name, or all as an object. */
  data(key) {
    const el = this.get(0);
    if (el === undefined || !el.hasAttributes()) return undefined;
    if (key !== undefined) {
      const value = el.getAttribute(`data-${propertyToAttr(String(key))}`);
      return value === undefined ? undefined : dataValue(value);
    }
    const out = {};
    for (const { name, value } of Object.values(el.attributes())) {
      if (name.startsWith('data-') && name.length > 5) out[attrToProperty(name.slice(5))] = dataValue(value);
    }
    return out;
  },

  /** The form's (or these controls') values that a browser would submit: `[{name, value}]`. */
  serializeArray() {
    const controls = this.is('form') ? this.find(SUBMITTABLE) : this.filter(SUBMITTABLE);
    const sent = controls.filter((i, c) => {
      const type = c.attr('type', '');
      return (
        c.attr('name', '') !== '' &&
        c.attr('disabled') !== 'disabled' &&
        !NOT_SENT.has(type) &&
        (c.attr('checked') === 'checked' || (type !== 'checkbox' && type !== 'radio'))
      );
    });
    return sent.map((i, c) => ({ name: c.attr('name'), value: c.val() }));
  },

  serializeObject() {
    const out = {};
    for (const { name, value } of this.serializeArray()) out[name] = value;
    return out;
  },

  /** The values as a query string, keys sorted (as k6's Go writes them). */
  serialize() {
    const byName = new Map();
    for (const { name, value } of this.serializeArray()) {
      if (typeof value === 'string') byName.set(name, [value]);
      else if (Array.isArray(value)) byName.set(name, value);
    }
    return [...byName.keys()]
      .sort()
      .flatMap((name) => byName.get(name).map((v) => `${queryEscape(name)}=${queryEscape(v)}`))
      .join('&');
  },
});

export default { parseHTML };
