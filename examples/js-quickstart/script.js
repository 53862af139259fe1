// The Rust quickstart (examples/quickstart in the repo) in JavaScript: one GET, two checks.
import http from 'stampede/http';
import { check } from 'stampede';

export const options = {
  vus: 5,
  duration: '10s',
  thresholds: { http_req_duration: ['p(95)<250'], checks: ['rate>0.99'] },
};

export default function () {
  const res = http.get(`${__ENV.BASE_URL || 'http://127.0.0.1:8080'}/`);
  check(res, {
    'status is 200': (r) => r.status === 200,
    'body says hello': (r) => r.body.includes('hello'),
  });
}
