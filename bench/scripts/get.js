// The benchmark's JavaScript script, written for k6 (it runs unchanged in k6 and in stampede):
// one GET of $URL and one check per iteration ($MODE=sleep: park for $SLEEP seconds instead,
// for memory per VU and VU start-up).
import http from 'k6/http';
import { check, sleep } from 'k6';

export default function () {
  if (__ENV.MODE === 'sleep') {
    sleep(Number(__ENV.SLEEP || 1));
    return;
  }
  const res = http.get(__ENV.URL);
  check(res, { 'status is 200': (r) => r.status === 200 });
}
