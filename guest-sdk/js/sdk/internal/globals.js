// k6's globals: `__ENV`, `__VU`, `__ITER`, and a `console` that writes to the test's log.
//
// A side-effect module: the bundle's entry imports it before the user's script, so that the
// script's top level can use the globals (ES modules evaluate in import order).

import { context } from './host.js';
import { currentInfo } from './state.js';
import { show } from './util.js';

/** Installs k6's globals: `__ENV`, `__VU`, `__ITER`, and a `console` that logs to the test. */
function installGlobals() {
  // __ENV: the host can look up one name but not list them, so it is a Proxy that asks the host
  // on first read of each name. Scripts may also assign to it, as in k6.
  const cache = new Map();
  const lookup = (name) => {
    if (!cache.has(name)) cache.set(name, context.env(name));
    return cache.get(name);
  };
  globalThis.__ENV = new Proxy(Object.create(null), {
    get(target, name) {
      if (typeof name !== 'string') return undefined;
      return name in target ? target[name] : lookup(name);
    },
    has(target, name) {
      return typeof name === 'string' && (name in target || lookup(name) !== undefined);
    },
    set(target, name, value) {
      target[name] = String(value);
      return true;
    },
    deleteProperty(target, name) {
      delete target[name];
      cache.set(name, undefined);
      return true;
    },
    getOwnPropertyDescriptor(target, name) {
      const value = typeof name === 'string' ? this.get(target, name) : undefined;
      if (value === undefined) return undefined;
      return { value, writable: true, enumerable: true, configurable: true };
    },
    // ownKeys: only the names the script set itself; the host's cannot be enumerated.
  });

  Object.defineProperty(globalThis, '__VU', { get: () => currentInfo().vuId, configurable: true });
  Object.defineProperty(globalThis, '__ITER', {
    get: () => Number(currentInfo().iterationInScenario),
    configurable: true,
  });

  const logger = (level) => (...args) => context.log(level, args.map(show).join(' '));
  globalThis.console = {
    ...globalThis.console,
    log: logger('info'),
    info: logger('info'),
    debug: logger('debug'),
    warn: logger('warn'),
    error: logger('error'),
  };
}

installGlobals();
