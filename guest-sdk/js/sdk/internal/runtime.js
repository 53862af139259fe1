// The script's side of the `stampede:script` world, in JavaScript: turns the user's k6-style
// module (its `options`, `setup`, `default`, other exported functions, `teardown`) into the
// five functions the world exports. The generated entry module (see build.mjs) calls these.
//
// Mapping, as componentize-js binds the world:
//   options() -> string                       JSON of the module's `options` (`{}` if none)
//   entry-points() -> list<string>            'default' and the other exported functions
//   setup() -> result<list<u8>, string>       JSON of setup's return value, as Uint8Array
//   iteration(exec, data) -> result<_, string>
//   teardown(data) -> result<_, string>
// A `result` export is ok when the function returns, and err when it returns
// `{ tag: 'err', val: message }`. (componentize-js also turns a thrown *non-Error* value into
// err, but rethrows Error objects, which traps the instance: so every exception is caught here
// and returned as an err with its stack.)
//
// Host resources made during a call (HTTP responses) are dropped when the call ends.

import { releaseAll, resetCallState } from './state.js';
import { errorText, fromUtf8, utf8 } from './util.js';

/** Exports that are not entry points. */
const NOT_ENTRY_POINTS = new Set(['options', 'setup', 'teardown', 'handleSummary', 'default']);

/** The err of a `result` export. */
const err = (e) => ({ tag: 'err', val: errorText(e) });

/**
 * Makes the world's exports for the user's module `script` (its namespace object). Calls it
 * only after `globalThis.__stampedeHost` is set, at run time.
 */
export function makeGuest(script) {
  // Setup data arrives as JSON bytes on every call; parse it once per VU and reuse it while the
  // bytes stay the same (k6 also hands each VU one copy of the data).
  let lastBytes = null;
  let lastData;
  const data = (bytes) => {
    if (bytes.length === 0) return undefined;
    if (lastBytes !== null && sameBytes(lastBytes, bytes)) return lastData;
    lastData = JSON.parse(fromUtf8(bytes));
    lastBytes = bytes;
    return lastData;
  };

  const entry = (exec) => {
    const fn = script[exec];
    if (typeof fn !== 'function' || (exec !== 'default' && NOT_ENTRY_POINTS.has(exec))) {
      throw new Error(`the script has no entry point named '${exec}'`);
    }
    return fn;
  };

  return {
    options() {
      resetCallState();
      const options = script.options ?? {};
      return JSON.stringify(options);
    },

    entryPoints() {
      return Object.keys(script).filter(
        (name) =>
          typeof script[name] === 'function' && (name === 'default' || !NOT_ENTRY_POINTS.has(name)),
      );
    },

    async setup() {
      resetCallState();
      try {
        const value = typeof script.setup === 'function' ? await script.setup() : undefined;
        return utf8(JSON.stringify(value === undefined ? null : value));
      } catch (e) {
        return err(e);
      } finally {
        releaseAll();
      }
    },

    // Not `async`: most entry points are synchronous, and a plain call skips a promise per
    // iteration. An async entry point's promise is returned, and componentize-js runs the event
    // loop until it settles.
    iteration(exec, bytes) {
      resetCallState();
      let ret;
      try {
        ret = entry(exec)(data(bytes));
      } catch (e) {
        releaseAll();
        return err(e);
      }
      if (ret && typeof ret.then === 'function') {
        return ret.then(
          () => void releaseAll(),
          (e) => (releaseAll(), err(e)),
        );
      }
      releaseAll();
    },

    async teardown(bytes) {
      resetCallState();
      try {
        if (typeof script.teardown === 'function') await script.teardown(data(bytes));
      } catch (e) {
        return err(e);
      } finally {
        releaseAll();
      }
    },
  };
}

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

