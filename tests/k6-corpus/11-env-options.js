// Options taken from the environment the way teams write them: `__ENV.X || default` is a
// string whenever the variable is set (`-e VUS=2`), and k6 reads a whole number written as
// a string as that number.
import http from 'k6/http';
import { check } from 'k6';

export const options = {
  scenarios: {
    steady: {
      executor: 'shared-iterations',
      vus: __ENV.VUS || 1,
      iterations: __ENV.ITERS || 2,
      maxDuration: '30s',
    },
  },
  maxRedirects: __ENV.MAX_REDIRECTS || 3,
  thresholds: {
    checks: ['rate==1'],
  },
};

export default function () {
  const res = http.get(`${__ENV.BASE_URL}/`);
  check(res, { 'status is 200': (r) => r.status === 200 });
}
