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
  // A log line is cut at 16 KiB anyway: past this much text (or this deep) the rest of a value
  // is left out as `…`, so a huge or endless structure (`new Array(1e9)`, a list a million
  // links long) costs neither the time to walk it nor the script's stack.
  const BUDGET = 64 << 10;
  const DEEPEST = 500;
  const binary = (v, out) => {
    const bytes = v instanceof ArrayBuffer ? new Uint8Array(v) : v;
    const shown = [];
    for (let i = 0; i < bytes.length && out.left > 0; i++) {
      const item = v instanceof ArrayBuffer ? bytes[i].toString(16).padStart(2, '0') : String(bytes[i]);
      out.left -= item.length + 2;
      shown.push(item);
    }
    if (shown.length < bytes.length) shown.push('…');
    if (v instanceof ArrayBuffer) {
      return `ArrayBuffer { [Uint8Contents]: <${shown.join(' ')}>, byteLength: ${v.byteLength} }`;
    }
    const name = v.constructor?.name ?? 'TypedArray';
    return v.length === 0 ? `${name}(0) []` : `${name}(${v.length}) [ ${shown.join(', ')} ]`;
  };
  // `out`: the text still allowed, the depth, and the objects on the path (for `[Circular]`).
  const nested = (v, out) => {
    if (out.left <= 0) return '…';
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'function') return FUNCTION;
    if (typeof v === 'string') {
      out.left -= v.length + 2;
      return `"${v}"`;
    }
    if (typeof v === 'symbol') return `"${primitive(v)}"`;
    if (typeof v !== 'object') return primitive(v);
    if (out.seen.has(v)) return '[Circular]';
    if (out.seen.size >= DEEPEST) return '…';
    out.seen.add(v);
    try {
      if (isError(v)) return String(v);
      if (v instanceof ArrayBuffer || (ArrayBuffer.isView(v) && !(v instanceof DataView))) return binary(v, out);
      if (Array.isArray(v)) {
        if (v.length === 0) return '[]';
        const items = [];
        for (let i = 0; i < v.length; i++) {
          if (out.left <= 0) {
            items.push('…');
            break;
          }
          items.push(nested(v[i], out));
          out.left -= 2;
        }
        return `[ ${items.join(', ')} ]`;
      }
      const keys = Object.keys(v);
      if (keys.length === 0) {
        return v instanceof Date && typeof v.toISOString === 'function' ? `"${v.toISOString()}"` : '{}';
      }
      const fields = [];
      for (const k of keys) {
        if (out.left <= 0) {
          fields.push('…');
          break;
        }
        out.left -= k.length + 4;
        fields.push(`${k}: ${nested(v[k], out)}`);
      }
      return `{ ${fields.join(', ')} }`;
    } finally {
      out.seen.delete(v);
    }
  };
  const show = (v) => {
    if (typeof v === 'function') return FUNCTION;
    if (typeof v !== 'object' || v === null) return primitive(v);
    try {
      if (isError(v)) return String(v);
      return nested(v, { left: BUDGET, seen: new Set() });
    } catch {
      try {
        return String(v);
      } catch {
        return '[object]';
      }
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
