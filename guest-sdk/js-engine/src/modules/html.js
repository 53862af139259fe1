// `k6/html` (also `stampede/html`): HTML parsed and queried with CSS selectors, as k6 has it;
// and `res.html()` on k6/http's responses.
//
//   import { parseHTML } from 'k6/html';
//   const doc = parseHTML(res.body);
//   const token = doc.find('input[name=csrf]').val();
//   doc.find('a.product').each((i, a) => links.push(a.getAttribute('href')));
//   const title = res.html('title').text();
//
// Preloaded: evaluated in the snapshot, it costs a VU nothing until a page is parsed.

import { parseHTML as parse } from 'stampede:html';
import { Response } from 'k6/http';

/** The document `source` (a string, or anything with a text form) as a selection. */
export function parseHTML(source) {
  return parse(source === undefined || source === null ? '' : String(source));
}

if (!('html' in Response.prototype)) {
  Object.defineProperty(Response.prototype, 'html', {
    /** The body as a document; with a selector, what it finds there. */
    value(selector) {
      const doc = parseHTML(this.body);
      return selector === undefined ? doc : doc.find(selector);
    },
    writable: true,
    configurable: true,
  });
}

export default { parseHTML };
