// `stampede` (k6): checks, think time, groups and failing an iteration.
//
//   import { check, sleep, group, fail } from 'stampede';
//   group('home page', () => {
//     const res = http.get(url);
//     check(res, { 'status is 200': (r) => r.status === 200 }) || fail('unexpected status');
//   });
//   sleep(1);

import { context } from './internal/host.js';
import { flushChecks, queueCheck } from './internal/state.js';
import { pairs } from './internal/util.js';

/**
 * Runs each named assertion on `value` and records its result in the `checks` rate. An
 * assertion is a function of the value (a non-function is taken as the result itself); an
 * exception in it ends the iteration, as in k6. Returns true when all passed.
 *
 * @param {*} value
 * @param {Record<string, ((v: any) => any) | any>} sets
 * @param {Record<string, string>} [tags]
 */
export function check(value, sets, tags) {
  const tagList = tags ? pairs(tags) : [];
  let all = true;
  for (const name of Object.keys(sets)) {
    const assertion = sets[name];
    const ok = !!(typeof assertion === 'function' ? assertion(value) : assertion);
    queueCheck(String(name), ok, tagList);
    all &&= ok;
  }
  return all;
}

/** Suspends this VU for `seconds` (think time); other VUs keep running. */
export function sleep(seconds) {
  const s = Number(seconds);
  if (s > 0) context.sleep(s);
}

/**
 * Runs `fn` inside the group `name`: its samples get the tag `group = ::outer::name` and its
 * duration becomes a `group_duration` sample. Returns what `fn` returns.
 */
export function group(name, fn) {
  flushChecks();
  context.groupEnter(String(name));
  try {
    return fn();
  } finally {
    flushChecks();
    context.groupExit();
  }
}

/** Ends the iteration with an error (counted, logged), as k6's `fail`. Does not return. */
export function fail(message = '') {
  throw new Error(message);
}

export default { check, sleep, group, fail };
