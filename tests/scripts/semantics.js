// A k6 script (imports as k6 writes them) exercising cookies, compression, redirects and
// authentication against the tests' semantics server (tests/all/semantics_server.rs).
import http from 'k6/http';
import { check } from 'k6';

export const options = { iterations: 2 };

/** The value of header `name` the echo server received. */
function sent(res, name) {
  const h = res.json().headers.find(([k]) => k.toLowerCase() === name);
  return h ? h[1] : undefined;
}

export default function () {
  const base = __ENV.BASE_URL;
  const jar = http.cookieJar();
  let res = http.get(`${base}/echo`);
  check(res, { 'the jar starts empty': (r) => sent(r, 'cookie') === undefined });
  res = http.get(`${base}/cookie?set=sid%3D1%3B%20Path%3D%2F%3B%20HttpOnly`);
  check(res, {
    'res.cookies': (r) => r.cookies.sid[0].value === '1' && r.cookies.sid[0].path === '/' && r.cookies.sid[0].http_only,
  });
  res = http.get(`${base}/echo`, { cookies: { extra: 'x', sid: { value: '2', replace: true } } });
  check(res, { 'request cookies, replace': (r) => sent(r, 'cookie') === 'extra=x; sid=2' });
  check(jar, { cookiesForURL: (j) => j.cookiesForURL(base).sid[0] === '1' });
  res = http.get(`${base}/echo`, { jar: null });
  check(res, { 'jar: null sends none': (r) => sent(r, 'cookie') === undefined });
  const mine = new http.CookieJar();
  mine.set(base, 'own', '1', { path: '/' });
  res = http.get(`${base}/echo`, { jar: mine });
  check(res, { 'a jar of its own': (r) => sent(r, 'cookie') === 'own=1' });
  res = http.get(`${base}/encoded?ce=gzip,br&text=decoded`);
  check(res, { 'gzip and br decoded': (r) => r.body === 'decoded' && r.headers['Content-Encoding'] === 'gzip,br' });
  res = http.post(`${base}/echo`, 'zzzzzzzzzzzzzzzzzzzz', { compression: 'gzip' });
  check(res, { 'body compressed': (r) => sent(r, 'content-encoding') === 'gzip' });
  const creds = base.replace('http://', 'http://Mufasa:pw@');
  res = http.get(`${creds}/digest?algorithm=SHA-256&user=Mufasa&pass=pw`, { auth: 'digest' });
  check(res, { 'digest auth': (r) => r.status === 200 });
  res = http.get(`${creds}/basic?user=Mufasa&pass=pw`, { auth: 'basic' });
  check(res, { 'basic auth': (r) => r.status === 200 });
  res = http.post(`${base}/redirect?status=303&to=%2Fecho&set=hop%3D1`, 'body');
  check(res, { '303 turns into GET, cookies follow': (r) => r.json().method === 'GET' && sent(r, 'cookie').includes('hop=1') });
}
