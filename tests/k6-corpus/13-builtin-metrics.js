// A script's own handle on built-in metrics, as k6's jslib `check` makes one (`new
// Rate('checks')`): the same type and value type give the built-in metric, anything else is
// refused with an error the script can catch.
import http from 'k6/http';
import { check } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';

const checks = new Rate('checks');
const requests = new Counter('http_reqs');
const duration = new Trend('http_req_duration', true);

function refused(make) {
  try {
    make();
    return '';
  } catch (e) {
    return String(e);
  }
}

// Metrics are made in the init context only (k6 refuses them in an iteration).
const otherValueType = refused(() => new Trend('http_req_duration'));
const otherType = refused(() => new Trend('checks'));

export const options = {
  iterations: 4,
  thresholds: { 'checks{check:counted by the script}': ['rate==1'], http_reqs: ['count==12'] },
};

export default function () {
  http.get(`${__ENV.BASE_URL}/`);
  checks.add(true, { check: 'counted by the script' });
  requests.add(2);
  duration.add(1000);
  check(null, {
    'a built-in of another value type is refused': () => otherValueType.includes('time'),
    'and of another type': () => otherType.includes('rate'),
  });
}
