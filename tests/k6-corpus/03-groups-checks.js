// Nested groups, checks that pass and fail, and a threshold on the share of passes.
import http from 'k6/http';
import { check, group } from 'k6';
import exec from 'k6/execution';

export const options = {
  vus: 2,
  iterations: 8,
  thresholds: { checks: ['rate>0.7'], 'http_reqs{group:::shop::catalog}': ['count==8'], 'group_duration{group:::shop::cart}': ['max<5000'] },
};

export default function () {
  group('shop', () => {
    group('catalog', () => {
      const res = http.get(`${__ENV.BASE_URL}/get`);
      check(res, {
        'catalog is 200': (r) => r.status === 200,
        'catalog is JSON': (r) => r.headers['Content-Type'] === 'application/json',
      });
    });
    group('cart', () => {
      const res = http.get(`${__ENV.BASE_URL}/status/404`);
      check(res, { 'cart is missing': (r) => r.status === 404 });
      // Fails on every other iteration of the test.
      check(exec.scenario.iterationInTest, { 'even iteration': (i) => i % 2 === 0 });
    });
  });
  check(null, { 'outside any group': () => true });
}
