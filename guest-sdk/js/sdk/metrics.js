// `stampede/metrics` (k6/metrics): custom Counter, Gauge, Rate and Trend metrics.
//
//   import { Trend } from 'stampede/metrics';
//   const waiting = new Trend('waiting_time', true);   // at the top level, as in k6
//   export default function () { waiting.add(res.timings.waiting, { page: 'home' }); }
//
// Creating a metric registers it with the host at once. That is allowed at the top level
// because stampede evaluates the script at run time (once per VU, as k6's init context), and
// it lets thresholds name the metric: the host reads the options after the top level ran.

import { metrics } from './internal/host.js';
import { pairs } from './internal/util.js';

class Metric {
  #handle;

  /**
   * @param {string} name  the metric's name (k6's rules: letters, digits, `_`)
   * @param {'counter'|'gauge'|'rate'|'trend'} kind
   * @param {boolean} isTime  a trend of milliseconds
   */
  constructor(name, kind, isTime) {
    if (typeof name !== 'string' || name === '') throw new TypeError('a metric needs a name');
    this.name = name;
    this.type = kind;
    this.isTime = !!isTime;
    try {
      this.#handle = metrics.register(name, kind, this.isTime);
    } catch (e) {
      // A failed `result` import arrives as an Error whose `payload` is the host's message.
      throw new Error(`cannot create the ${kind} metric '${name}': ${e.payload ?? e.message}`);
    }
  }

  /** Adds a sample, with optional tags (`{name: value}`). Returns true, as in k6. */
  add(value, tags) {
    metrics.add(this.#handle, this.toNumber(value), tags ? pairs(tags) : []);
    return true;
  }

  toNumber(value) {
    const n = Number(value); // booleans count as 1 and 0, as in k6
    if (Number.isNaN(n)) throw new TypeError(`${this.name}: '${value}' is not a number`);
    return n;
  }
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

  toNumber(value) {
    if (typeof value === 'number') return value === 0 || Number.isNaN(value) ? 0 : 1;
    return value ? 1 : 0;
  }
}

/** A distribution: `avg`, `min`, `med`, `max`, `p(N)`. `isTime` shows values as durations (ms). */
export class Trend extends Metric {
  constructor(name, isTime = false) {
    super(name, 'trend', isTime);
  }
}

export default { Counter, Gauge, Rate, Trend };
