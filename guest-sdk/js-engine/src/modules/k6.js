// `k6` (also `stampede`): checks, think time, groups, failing an iteration.
//
//   import { check, sleep, group, fail } from 'k6';
//   group('home page', () => {
//     const res = http.get(url);
//     check(res, { 'status is 200': (r) => r.status === 200 }) || fail('unexpected status');
//   });
//   sleep(1);

import * as host from 'stampede:host';

const AsyncFunction = (async () => {}).constructor;

/** Whether `f` is an `async` function, which k6's `check` and `group` refuse. */
function isAsync(f) {
  return typeof f === 'function' && f.constructor === AsyncFunction;
}

/**
 * Runs each named assertion on `value` and records its result in the `checks` rate. An
 * assertion is a function of the value (anything else is taken as the result itself); an
 * exception in it ends the iteration, as in k6. Returns true when all passed.
 */
export function check(value, sets, tags) {
  let all = true;
  for (const name in sets) {
    const assertion = sets[name];
    if (isAsync(assertion)) {
      throw new Error('the built-in check() does not support async functions as arguments. '
        + "Use the JavaScript utils library as a replacement (k6-utils' check)");
    }
    let ok;
    try {
      ok = !!(typeof assertion === 'function' ? assertion(value) : assertion);
    } catch (e) {
      // As k6: a check whose function throws counts as failed, and the exception goes on
      // (the checks after it are not evaluated).
      host.check(name, false, tags);
      throw e;
    }
    host.check(name, ok, tags);
    if (!ok) all = false;
  }
  return all;
}

/** Suspends this VU for `seconds` (think time); other VUs keep running. */
export function sleep(seconds) {
  host.sleep(Number(seconds));
}

/**
 * Runs `fn` inside the group `name`: its samples get the tag `group = ::outer::name` and its
 * duration becomes a `group_duration` sample. Returns what `fn` returns.
 */
export function group(name, fn) {
  if (typeof fn !== 'function') throw new TypeError('group: the second argument must be a function');
  if (isAsync(fn)) throw new Error('group() does not support async functions as arguments');
  host.groupEnter(name);
  try {
    return fn();
  } finally {
    host.groupExit();
  }
}

/** Ends the iteration with an error (counted and logged), as k6's `fail`. Does not return. */
export function fail(message = '') {
  throw new Error(message);
}

/** Seeds `Math.random` of this VU, for repeatable random data. */
export function randomSeed(seed) {
  host.randomSeed(Number(seed));
}

export default { check, sleep, group, fail, randomSeed };
