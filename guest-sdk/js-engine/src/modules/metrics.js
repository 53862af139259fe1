// `k6/metrics` (also `stampede/metrics`): custom Counter, Gauge, Rate and Trend metrics.
//
//   import { Trend } from 'k6/metrics';
//   const waiting = new Trend('waiting_time', true);   // in the init context, as in k6
//   export default function () { waiting.add(res.timings.waiting, { page: 'home' }); }
//
// Creating a metric registers it with the host at once, so that thresholds can name it (the
// host reads the options after the init context ran).

import * as host from 'stampede:host';

class Metric {
  #handle;

  constructor(name, kind, isTime) {
    if (typeof name !== 'string' || name === '') throw new TypeError('a metric needs a name');
    this.name = name;
    this.type = kind;
    this.isTime = !!isTime;
    this.#handle = host.register(name, kind, this.isTime);
  }

  /**
   * Adds a sample, with optional tags (`{name: value}`), and returns true. A value that is not
   * a number (nor a boolean, nor a string of a number) is dropped with a warning and returns
   * false, as in k6 — or throws, with the `throw` option.
   */
  add(value, tags) {
    const n = arguments.length === 0 ? this.invalid(undefined, false) : this.sample(value);
    if (n === undefined) return false;
    host.add(this.#handle, n, tags);
    return true;
  }

  /** The sample `value` makes, as k6 reads it: booleans count as 1 and 0. */
  sample(value) {
    let n = value === null ? NaN : Number(value);
    // k6 reads what converts to 0 but is truthy (`'0'`, `[]`) as 1.
    if (n === 0 && value) n = 1;
    return Number.isNaN(n) ? this.invalid(value, true) : n;
  }

  invalid(value, given) {
    const why = given
      ? `'${shorten(String(value))}' is an invalid value for metric '${this.name}', a number or a boolean value is expected`
      : `no value was provided for metric '${this.name}', a number or a boolean value is expected`;
    if (throwOption()) throw new Error(why);
    host.log('warn', why);
    return undefined;
  }
}

let throws;
/** Whether the test's options set `throw`. */
function throwOption() {
  throws ??= JSON.parse(host.execOptions()).throw === true;
  return throws;
}

/** A value as k6 quotes it in a warning: past 100 characters, its first and last 50. */
function shorten(text) {
  const chars = Array.from(text);
  if (chars.length < 100) return text;
  const omitted = chars.length - 100;
  return `${chars.slice(0, 50).join('')}... omitting ${omitted} characters ...${chars.slice(-50).join('')}`;
}

/** A sum: `count` and `rate` per second. */
export class Counter extends Metric {
  constructor(name, isTime = false) {
    super(name, 'counter', isTime);
  }
}

/** The last value, with `min` and `max`. */
export class Gauge extends Metric {
  constructor(name, isTime = false) {
    super(name, 'gauge', isTime);
  }
}

/** The share of non-zero (truthy) values. */
export class Rate extends Metric {
  constructor(name) {
    super(name, 'rate', false);
  }

  sample(value) {
    const n = super.sample(value);
    return n === undefined ? undefined : Number(n !== 0);
  }
}

/** A distribution: `avg`, `min`, `med`, `max`, `p(N)`. `isTime` shows values as durations. */
export class Trend extends Metric {
  constructor(name, isTime = false) {
    super(name, 'trend', isTime);
  }
}

export default { Counter, Gauge, Rate, Trend };
