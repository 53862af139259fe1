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

  /** Adds a sample, with optional tags (`{name: value}`). Returns true, as in k6. */
  add(value, tags) {
    host.add(this.#handle, this.toNumber(value), tags);
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

/** A distribution: `avg`, `min`, `med`, `max`, `p(N)`. `isTime` shows values as durations. */
export class Trend extends Metric {
  constructor(name, isTime = false) {
    super(name, 'trend', isTime);
  }
}

export default { Counter, Gauge, Rate, Trend };
