// The benchmark's JavaScript script, written for k6 (it runs unchanged in k6 and in stampede):
// one GET of $URL and one check per iteration ($MODE=sleep: park for $SLEEP seconds instead,
// for memory per VU and VU start-up; $MODE=fresh: a URL never seen before each time,
// `$URL?id=<random>`, with no `name` tag).
import http from 'k6/http';
import { check, sleep } from 'k6';

export default function () {
  if (__ENV.MODE === 'sleep') {
    sleep(Number(__ENV.SLEEP || 1));
    return;
  }
  const url = __ENV.MODE === 'fresh' ? `${__ENV.URL}?id=${Math.random().toString(36).slice(2)}` : __ENV.URL;
  const res = http.get(url);
  check(res, { 'status is 200': (r) => r.status === 200 });
}
