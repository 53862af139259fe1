// The benchmark's script for k6 itself: the same work as bench/guest and get.js (one GET of
// $URL and one check per iteration), with k6's imports.
import http from 'k6/http';
import { check } from 'k6';

export default function () {
  const res = http.get(__ENV.URL);
  check(res, { 'status is 200': (r) => r.status === 200 });
}
