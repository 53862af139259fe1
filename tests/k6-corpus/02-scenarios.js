// Several executors side by side, each calling its own function, with per-scenario thresholds.
import http from 'k6/http';
import { check } from 'k6';

export const options = {
  scenarios: {
    browse: { executor: 'shared-iterations', vus: 2, iterations: 10, exec: 'browse' },
    buy: { executor: 'per-vu-iterations', vus: 3, iterations: 2, exec: 'buy' },
    poll: { executor: 'constant-vus', vus: 1, duration: '1s', exec: 'poll', startTime: '200ms' },
    burst: {
      executor: 'constant-arrival-rate', rate: 10, timeUnit: '1s', duration: '1s',
      preAllocatedVUs: 2, exec: 'browse',
    },
  },
  thresholds: {
    'iterations{scenario:browse}': ['count==10'],
    'iterations{scenario:buy}': ['count==6'],
    'http_reqs{scenario:buy}': ['count==6'],
    'checks{scenario:buy}': ['rate==1'],
  },
};

export function browse() {
  http.get(`${__ENV.BASE_URL}/get?page=1`);
}

export function buy() {
  const res = http.post(`${__ENV.BASE_URL}/post`, JSON.stringify({ sku: 42 }), {
    headers: { 'Content-Type': 'application/json' },
  });
  check(res, { 'order echoed': (r) => r.json('sku') === 42 });
}

export function poll() {
  http.get(`${__ENV.BASE_URL}/delay/100`);
}
