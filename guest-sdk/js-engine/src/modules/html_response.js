// `res.html(selector)` on k6/http's responses: the body as a `k6/html` document, or what the
// selector finds in it. Preloaded (it is a few lines); `k6/html` itself is evaluated when a
// script first parses a page.

import { Response } from 'k6/http';
import { html } from 'stampede:lazy';

if (!('html' in Response.prototype)) {
  Object.defineProperty(Response.prototype, 'html', {
    value(selector) {
      const doc = html().parseHTML(this.body);
      return selector === undefined ? doc : doc.find(selector);
    },
    writable: true,
    configurable: true,
  });
}
