// A script that uses the standard fetch() instead of stampede's http module. fetch() goes through
// wasi:http, which stampede serves with the VU's own keep-alive connections: the requests are
// timed and counted exactly like http.get's. The `x-stampede-name` and `x-stampede-tag-*`
// headers set the `name` tag and extra tags (stampede removes them before sending).
import { check } from 'stampede';

export const options = {
  vus: 2,
  iterations: 10,
  thresholds: { 'http_req_duration{name:echo}': ['p(95)<500'] },
};

export default async function () {
  const res = await fetch(`${__ENV.BASE_URL || 'http://127.0.0.1:8080'}/get`, {
    headers: { 'x-via': 'fetch', 'x-stampede-name': 'echo', 'x-stampede-tag-client': 'fetch' },
  });
  const body = await res.json();
  check(res, {
    'status is 200': (r) => r.status === 200,
    'header echoed': () => body.headers['x-via'] === 'fetch',
  });
}
