// `k6/execution` (also `stampede/execution`): facts about the running VU, iteration, scenario
// and test, the VU's tags, and control of the test.
//
//   import exec from 'k6/execution';
//   if (exec.vu.iterationInScenario === 0) login();
//   exec.vu.tags.step = 'checkout';
//   if (somethingIsBroken) exec.test.abort('the target is down');

import * as host from 'stampede:host';

const state = () => JSON.parse(host.execState());

function isTagValue(value) {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

/**
 * The tags on the VU's samples, as k6's `exec.vu.tags`: reading shows the test's, the
 * scenario's and the script's own; writing a string, number or boolean tags the VU's samples
 * from then on, in every scenario it runs; `delete` removes a tag the script set.
 */
const tags = new Proxy(
  {},
  {
    get(_, name) {
      return typeof name === 'string' ? host.vuTags()[name] : undefined;
    },
    set(_, name, value) {
      if (typeof name !== 'string') return false;
      if (!isTagValue(value)) {
        // As k6 v2.2 (older versions warned and went on).
        throw new TypeError(
          `invalid value for metric tag '${name}': only String, Boolean and Number types are accepted as a metric tag values`,
        );
      }
      host.setVuTag(name, String(value));
      return true;
    },
    deleteProperty(_, name) {
      if (typeof name === 'string') host.deleteVuTag(name);
      return true;
    },
    has(_, name) {
      return typeof name === 'string' && name in host.vuTags();
    },
    ownKeys() {
      return Object.keys(host.vuTags());
    },
    getOwnPropertyDescriptor(_, name) {
      const all = host.vuTags();
      if (typeof name !== 'string' || !(name in all)) return undefined;
      return { value: all[name], writable: true, enumerable: true, configurable: true };
    },
  },
);

/** k6's `exec.vu.metrics.metadata`: kept on the VU (stampede's samples carry no metadata). */
const metadata = {};

export const vu = Object.freeze({
  /** The VU's number across every instance of a test split with execution segments, from 1. */
  get idInTest() {
    return host.ids().vuIdInTest;
  },
  /** The VU's number in this instance, from 1 (`__VU`). */
  get idInInstance() {
    return host.info().vuId;
  },
  /** Iterations this VU started, across scenarios, from 0. */
  get iterationInInstance() {
    return host.info().iterationInInstance;
  },
  /** Iterations this VU started in the current scenario, from 0. */
  get iterationInScenario() {
    return host.info().iterationInScenario;
  },
  /** The tags on the VU's samples (read and write). */
  get tags() {
    return tags;
  },
  set tags(_) {
    throw new TypeError('exec.vu.tags cannot be replaced: set or delete its properties');
  },
  /** The same tags, and the VU's metadata. */
  metrics: Object.freeze({ tags, metadata }),
});

export const scenario = Object.freeze({
  /** The current scenario's name (`default` for the shortcut options). */
  get name() {
    return host.info().scenario;
  },
  /** Its executor (`constant-vus`, `ramping-arrival-rate`, …). */
  get executor() {
    return state().executor;
  },
  /** When it started, in milliseconds since the Unix epoch. */
  get startTime() {
    return state().startTime;
  },
  /** How far it has come, from 0 to 1 (iterations done, or time run, of its goal). */
  get progress() {
    return state().progress;
  },
  /** The current iteration's number in its scenario on this instance, from 0. */
  get iterationInInstance() {
    return host.ids().scenarioIterationInInstance;
  },
  /** The current iteration's number in its scenario across every instance, from 0. */
  get iterationInTest() {
    return host.ids().scenarioIterationInTest;
  },
});

export const instance = Object.freeze({
  /** Iterations cut short by the end of their scenario, on this instance. */
  get iterationsInterrupted() {
    return state().iterationsInterrupted;
  },
  /** Iterations that ran to their end, on this instance. */
  get iterationsCompleted() {
    return state().iterationsCompleted;
  },
  /** VUs running an iteration now. */
  get vusActive() {
    return state().vusActive;
  },
  /** VUs made for the scenarios. */
  get vusInitialized() {
    return state().vusInitialized;
  },
  /** Milliseconds since the test started. */
  get currentTestRunDuration() {
    return host.info().testElapsedMs;
  },
});

function deepFreeze(value) {
  if (value && typeof value === 'object') {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

let options;

export const test = Object.freeze({
  /** The test's options, merged from every layer (read-only). */
  get options() {
    if (options === undefined) options = deepFreeze(JSON.parse(host.execOptions()));
    return options;
  },
  /** Stops the whole test now (exit code 108); teardown still runs. Does not return. */
  abort(reason = 'test aborted by the script') {
    host.abortTest(String(reason));
    throw new Error(`test aborted: ${reason}`);
  },
  /** Marks the test as failed (exit code 110) and lets it go on. */
  fail(reason = 'test failed by the script') {
    host.failTest(String(reason));
  },
});

export default Object.freeze({ vu, scenario, instance, test });
