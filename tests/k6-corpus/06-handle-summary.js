// handleSummary with jslib's textSummary: the text on stdout, the data and JUnit as files.
import http from 'k6/http';
import { check, group } from 'k6';
import { textSummary, jUnit } from 'https://jslib.k6.io/k6-summary/0.0.2/index.js';

export const options = { iterations: 3, thresholds: { http_reqs: ['count==3'] } };

export default function () {
  group('home', () => {
    check(http.get(`${__ENV.BASE_URL}/`), { 'status is 200': (r) => r.status === 200 });
  });
}

export function handleSummary(data) {
  return {
    stdout: textSummary(data, { indent: ' ', enableColors: false }) + '\n',
    'summary.json': JSON.stringify(data),
    'junit.xml': jUnit(data),
  };
}
