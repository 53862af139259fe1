// Per-call state shared by the SDK modules.

import { checks, context } from './host.js';
import { utf8 } from './util.js';

let info = null;

/**
 * `context.info()` for the current export call, fetched once per call: iteration numbers do
 * not change within an iteration, and scripts read them often (`__VU`, `exec.vu.*`).
 */
export function currentInfo() {
  if (info === null) info = context.info();
  return info;
}

/** Called by the runtime at the start of each export call. */
export function resetCallState() {
  info = null;
  releaseAll();
}

// Host resources (`http.response`) made during the current export call. componentize-js's
// bindings unregister a resource from their FinalizationRegistry on its first method call, so
// a resource that was used is never dropped by the GC: the runtime drops them all at the end
// of the call (setup, iteration, teardown) instead, so the host's table does not grow.
const live = [];

/** Keeps `owner` (something with a `release()` method) until the end of the current call. */
export function track(owner) {
  live.push(owner);
}

/** Releases what `track` kept. Called by the runtime when an export call ends. */
export function releaseAll() {
  flushChecks();
  for (let i = 0; i < live.length; i++) live[i].release();
  live.length = 0;
}

// Check results wait here and cross to the host together: in componentize-js every string
// passed to an import is encoded character by character by interpreted glue, while one JSON
// byte array is copied natively. They are handed over before anything that changes their tags
// (entering or leaving a group) and at the end of every export call.
const pendingChecks = [];

/** Queues a check result (`tags` an array of [key, value] pairs, possibly empty). */
export function queueCheck(name, ok, tags) {
  pendingChecks.push(tags.length ? [name, ok, tags] : [name, ok]);
}

/** Hands the queued check results to the host. */
export function flushChecks() {
  if (pendingChecks.length === 0) return;
  const bytes = utf8(JSON.stringify(pendingChecks));
  pendingChecks.length = 0;
  checks.checkMany(bytes);
}
