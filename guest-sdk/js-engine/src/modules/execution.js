// `k6/execution` (also `stampede/execution`): facts about the running VU, iteration and
// scenario, and control of the test.
//
//   import exec from 'k6/execution';
//   if (exec.vu.iterationInScenario === 0) login();
//   if (somethingIsBroken) exec.test.abort('the target is down');

import * as host from 'stampede:host';

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
});

export const scenario = Object.freeze({
  /** The current scenario's name (`default` for the shortcut options). */
  get name() {
    return host.info().scenario;
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
  /** Milliseconds since the test started. */
  get currentTestRunDuration() {
    return host.info().testElapsedMs;
  },
});

export const test = Object.freeze({
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
