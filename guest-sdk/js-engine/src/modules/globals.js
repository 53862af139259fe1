// k6's globals: `__ENV`, `__VU`, `__ITER` and a `console` that writes to the test's log.
// Evaluated once as a script when the engine starts, before any module; it takes the native
// bridge the engine left in `__stampedeBridge` and removes it.
(() => {
  const bridge = globalThis.__stampedeBridge;
  delete globalThis.__stampedeBridge;
  const { env, envNames, info, log } = bridge;

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
    ownKeys(target) {
      const keys = new Set(Reflect.ownKeys(target));
      for (const name of envNames()) keys.add(name);
      return [...keys];
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

  // What `console.log` prints of a value, as k6 prints it: strings as they are, an error as
  // `Name: message`, a function as `[object Function]`, and objects in k6's own form
  // (`{ a: 1, b: "x", c: [ 1, 2 ] }`, `[Circular]` for a cycle, typed arrays and buffers
  // with their contents, a date as its ISO string in quotes).
  const FUNCTION = '[object Function]';
  const GO_ERROR = Symbol.for('stampede.goError');
  const isError = (v) =>
    v instanceof Error || Object.prototype.toString.call(v) === '[object Error]' || v[GO_ERROR] === true;
  const primitive = (v) => (typeof v === 'symbol' ? (v.description ?? '') : String(v));
  const binary = (v) => {
    if (v instanceof ArrayBuffer) {
      const hex = [...new Uint8Array(v)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
      return `ArrayBuffer { [Uint8Contents]: <${hex}>, byteLength: ${v.byteLength} }`;
    }
    const name = v.constructor?.name ?? 'TypedArray';
    return v.length === 0 ? `${name}(0) []` : `${name}(${v.length}) [ ${[...v].map(String).join(', ')} ]`;
  };
  const nested = (v, seen) => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'function') return FUNCTION;
    if (typeof v === 'string') return `"${v}"`;
    if (typeof v !== 'object') return primitive(v);
    if (seen.has(v)) return '[Circular]';
    seen.add(v);
    try {
      if (isError(v)) return String(v);
      if (v instanceof ArrayBuffer || (ArrayBuffer.isView(v) && !(v instanceof DataView))) return binary(v);
      if (Array.isArray(v)) {
        if (v.length === 0) return '[]';
        const items = [];
        for (let i = 0; i < v.length; i++) items.push(nested(v[i], seen));
        return `[ ${items.join(', ')} ]`;
      }
      const keys = Object.keys(v);
      if (keys.length === 0) {
        return v instanceof Date && typeof v.toISOString === 'function' ? `"${v.toISOString()}"` : '{}';
      }
      return `{ ${keys.map((k) => `${k}: ${nested(v[k], seen)}`).join(', ')} }`;
    } finally {
      seen.delete(v);
    }
  };
  const show = (v) => {
    if (typeof v === 'function') return FUNCTION;
    if (typeof v !== 'object' || v === null) return primitive(v);
    if (isError(v)) return String(v);
    try {
      return nested(v, new Set());
    } catch {
      return String(v);
    }
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
