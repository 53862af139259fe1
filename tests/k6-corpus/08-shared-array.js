// SharedArray: one copy of the users for every VU; each iteration posts one.
import http from 'k6/http';
import { check } from 'k6';
import { SharedArray } from 'k6/data';

const users = new SharedArray('users', () => JSON.parse(open('./data/users.json')));

export const options = { vus: 3, iterations: 9, thresholds: { checks: ['rate==1'] } };

export default function () {
  const user = users[__ITER % users.length];
  const res = http.post(`${__ENV.BASE_URL}/post`, JSON.stringify(user), {
    headers: { 'Content-Type': 'application/json' },
  });
  check(res, {
    'user echoed': (r) => r.json('name') === user.name,
    'array is shared and frozen': () => users.length === 3 && Object.isFrozen(user),
  });
}
