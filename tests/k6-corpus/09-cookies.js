// Cookies: a response sets one, the next request sends it; a jar of the script's own; a
// cookie given per request.
import http from 'k6/http';
import { check } from 'k6';

export const options = { iterations: 2, thresholds: { checks: ['rate==1'] } };

function cookieHeader(res) {
  const h = res.json().headers.find(([name]) => name.toLowerCase() === 'cookie');
  return h ? h[1] : '';
}

export default function () {
  const base = __ENV.ECHO_URL;
  const set = http.get(`${base}/cookie?set=session%3Dabc123%3B%20Path%3D%2F`);
  check(set, { 'cookie set': (r) => r.cookies.session && r.cookies.session[0].value === 'abc123' });
  check(http.get(`${base}/echo`), { 'cookie sent back': (r) => cookieHeader(r) === 'session=abc123' });

  const jar = new http.CookieJar();
  jar.set(base, 'theme', 'dark');
  check(http.get(`${base}/echo`, { jar }), { 'own jar': (r) => cookieHeader(r) === 'theme=dark' });
  check(http.get(`${base}/echo`, { cookies: { lang: 'en' } }), {
    'per-request cookie with the jar\'s': (r) => cookieHeader(r).split('; ').sort().join('; ') === 'lang=en; session=abc123',
  });
}
