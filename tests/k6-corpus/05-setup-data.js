// setup() logs in once; every iteration uses its token; teardown() checks what it was given.
import http from 'k6/http';
import { check } from 'k6';

export const options = { vus: 2, iterations: 4, thresholds: { checks: ['rate==1'] } };

export function setup() {
  const res = http.post(`${__ENV.BASE_URL}/post`, JSON.stringify({ token: 'tok-123', ttl: 60 }), {
    headers: { 'Content-Type': 'application/json' },
  });
  check(res, { 'logged in': (r) => r.status === 200 });
  return res.json();
}

export default function (data) {
  const res = http.get(`${__ENV.BASE_URL}/get`, { headers: { Authorization: `Bearer ${data.token}` } });
  check(res, { 'token sent': (r) => r.json().headers.authorization === 'Bearer tok-123' });
}

export function teardown(data) {
  check(data, { 'teardown got the data': (d) => d.ttl === 60 });
}
