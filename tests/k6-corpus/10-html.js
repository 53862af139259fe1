// k6/html: a page's links and a form's token, from a file opened in the init context.
import { check } from 'k6';
import { parseHTML } from 'k6/html';

const page = open('./data/page.html');

export const options = { iterations: 1, thresholds: { checks: ['rate==1'] } };

export default function () {
  const doc = parseHTML(page);
  const links = doc.find('a.product').map((_, a) => a.attr('href'));
  check(doc, {
    'title read': (d) => d.find('title').text() === 'Shop',
    'three products': () => links.length === 3 && links[2] === '/p/3',
    'csrf token': (d) => d.find('input[name=csrf]').val() === 's3cr3t',
    'second heading': (d) => d.find('h2').eq(1).text().trim() === 'Deals',
  });
}
