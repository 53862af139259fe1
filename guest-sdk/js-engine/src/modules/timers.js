// `k6/timers` (also `stampede/timers`): the timer globals as a module, as k6 has them.
//
//   import { setTimeout } from 'k6/timers';
//   export default async function () { await new Promise((r) => setTimeout(r, 100)); }
//
// A VU waits for its timers before an iteration's promise settles; timers an iteration leaves
// behind are dropped when it ends.

export const setTimeout = globalThis.setTimeout;
export const clearTimeout = globalThis.clearTimeout;
export const setInterval = globalThis.setInterval;
export const clearInterval = globalThis.clearInterval;

export default { setTimeout, clearTimeout, setInterval, clearInterval };
