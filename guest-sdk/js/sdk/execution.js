// `stampede/execution` (k6/execution): facts about the running VU, iteration and scenario, and
// control of the test.
//
//   import exec from 'stampede/execution';
//   if (exec.vu.iterationInScenario === 0) login();
//   if (somethingIsBroken) exec.test.abort('the target is down');

import { context } from './internal/host.js';
import { currentInfo } from './internal/state.js';

const vu = Object.freeze({
  /** The VU's number across every instance of a test split with execution segments, from 1. */
  get idInTest() {
    return context.ids().vuIdInTest;
  },
  /** The VU's number in this instance, from 1 (`__VU`). */
  get idInInstance() {
    return currentInfo().vuId;
  },
  /** Iterations this VU started, across scenarios, from 0. */
  get iterationInInstance() {
    return Number(currentInfo().iterationInInstance);
  },
  /** Iterations this VU started in the current scenario, from 0. */
  get iterationInScenario() {
    return Number(currentInfo().iterationInScenario);
  },
});

const scenario = Object.freeze({
  /** The current scenario's name (`default` for the shortcut options). */
  get name() {
    return currentInfo().scenario;
  },
  /** The current iteration's number in its scenario on this instance, from 0. */
  get iterationInInstance() {
    return Number(context.ids().scenarioIterationInInstance);
  },
  /** The current iteration's number in its scenario across every instance, from 0. */
  get iterationInTest() {
    return Number(context.ids().scenarioIterationInTest);
  },
});

const instance = Object.freeze({
  /** Milliseconds since the test started. */
  get currentTestRunDuration() {
    return Number(context.info().testElapsedMs);
  },
});

const test = Object.freeze({
  /** Stops the whole test now (exit code 108); teardown still runs. Does not return. */
  abort(reason = 'test aborted by the script') {
    context.abortTest(String(reason));
    // The host ends the call; should it ever come back, do not run on.
    throw new Error(`test aborted: ${reason}`);
  },
  /** Marks the test as failed (exit code 110) and lets it go on. */
  fail(reason = 'test failed by the script') {
    context.failTest(String(reason));
  },
});

const execution = Object.freeze({ vu, scenario, instance, test });

export { vu, scenario, instance, test };
export default execution;
