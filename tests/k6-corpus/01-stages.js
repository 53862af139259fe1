// A ramp up and down with `stages`: one GET and one check per iteration, a p(95) budget.
import http from 'k6/http';
import { check, sleep } from 'k6';

export const options = {
  stages: [
    { duration: '1s', target: 3 },
    { duration: '1s', target: 3 },
    { duration: '500ms', target: 0 },
  ],
  thresholds: {
    http_req_duration: ['p(95)<1000'],
    checks: ['rate==1'],
  },
};

export default function () {
  const res = http.get(`${__ENV.BASE_URL}/`);
  check(res, { 'home page answers': (r) => r.status === 200 && r.body.startsWith('hello') });
  sleep(0.1);
}
