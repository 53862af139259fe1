// The benchmark's JavaScript script: one GET of $URL and one check per iteration
// ($MODE=sleep: park for $SLEEP seconds instead, for memory per VU).
import http from 'stampede/http';
import { check, sleep } from 'stampede';

export default function () {
  if (__ENV.MODE === 'sleep') {
    sleep(Number(__ENV.SLEEP || 1));
    return;
  }
  const res = http.get(__ENV.URL);
  check(res, { 'status is 200': (r) => r.status === 200 });
}
