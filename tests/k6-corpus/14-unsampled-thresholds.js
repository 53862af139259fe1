// Thresholds on metrics that get no sample: a counter never added to, dropped iterations
// that never happen, a sub-metric of requests never made. k6 lists each in the summary export
// and in handleSummary's data, with zero values and their thresholds.
import { Counter } from 'k6/metrics';

const retries = new Counter('retries');

export const options = {
  iterations: 2,
  thresholds: {
    retries: ['count==0'],
    dropped_iterations: ['count==0'],
    'http_req_duration{name:checkout}': ['p(95)<500'],
  },
};

export default function () {
  if (__ITER > 100) retries.add(1);
}

export function handleSummary(data) {
  return { 'summary-data.json': JSON.stringify(data.metrics) };
}
