// k6's globals: `__ENV`, `__VU`, `__ITER` and a `console` that writes to the test's log.
// Evaluated once as a script when the engine starts, before any module; it takes the native
// bridge the engine left in `__stampedeBridge` and removes it.
(() => {
  const bridge = globalThis.__stampedeBridge;
  delete globalThis.__stampedeBridge;
  const { env, info, log } = bridge;

  // __ENV: the host answers one name at a time (-e variables, then the scenario's env), so it
  // is a Proxy that asks on read. Values the script assigns are its own and win.
  const own = Object.create(null);
  globalThis.__ENV = new Proxy(own, {
    get(target, name) {
      if (typeof name !== 'string') return undefined;
      return name in target ? target[name] : env(name);
    },
    has(target, name) {
      return typeof name === 'string' && (name in target || env(name) !== undefined);
    },
    set(target, name, value) {
      target[name] = String(value);
      return true;
    },
    deleteProperty(target, name) {
      delete target[name];
      return true;
    },
    getOwnPropertyDescriptor(target, name) {
      if (typeof name !== 'string') return undefined;
      if (name in target) return Reflect.getOwnPropertyDescriptor(target, name);
      const value = env(name);
      return value === undefined ? undefined : { value, writable: true, enumerable: true, configurable: true };
    },
  });

  // k6 (goja) names the global object `global` too; bundles written for Node use it (k6chaijs).
  Object.defineProperty(globalThis, 'global', { value: globalThis, writable: true, configurable: true });

  Object.defineProperty(globalThis, '__VU', { get: () => info().vuId, configurable: true });
  Object.defineProperty(globalThis, '__ITER', { get: () => info().iterationInScenario, configurable: true });

  const show = (v) => {
    if (typeof v === 'string') return v;
    if (v instanceof Error) return v.stack ? `${v.name}: ${v.message}\n${v.stack}`.trimEnd() : `${v.name}: ${v.message}`;
    if (typeof v === 'object' && v !== null) {
      try {
        return JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? x.toString() : x));
      } catch {
        return String(v);
      }
    }
    return String(v);
  };
  const logger = (level) => (...args) => log(level, args.map(show).join(' '));
  globalThis.console = {
    log: logger('info'),
    info: logger('info'),
    debug: logger('debug'),
    warn: logger('warn'),
    error: logger('error'),
    trace: logger('debug'),
  };
})();
