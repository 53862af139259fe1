// `k6/data` (also `stampede/data`): `SharedArray`, a read-only array made once in the init
// context.
//
//   import { SharedArray } from 'k6/data';
//   const users = new SharedArray('users', () => JSON.parse(open('./users.json')));
//   export default function () { const u = users[__VU % users.length]; … }
//
// The first VU that makes an array runs the function and hands the elements, one JSON text
// each, to the host, which keeps one copy for the whole test; every other VU finds the array
// there and never runs the function. Reading an element asks the host for its text, parses it
// and freezes it, as k6 does: a VU holds nothing of the array, and nothing a VU does to an
// element reaches the next read.

import { inInit, sharedLength, sharedMake, sharedGet } from 'stampede:files';

/** The length of each array this VU has seen, by name. */
const lengths = new Map();

function freeze(value) {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) freeze(v);
    Object.freeze(value);
  }
  return value;
}

function make(name, fn) {
  if (!inInit()) {
    throw new Error(`new SharedArray('${name}') can only be made in the init context (the script's top level)`);
  }
  if (Object.prototype.toString.call(fn) === '[object AsyncFunction]') {
    throw new Error('SharedArray constructor does not support async functions as second argument');
  }
  const known = sharedLength(name);
  if (known !== undefined) return known;
  if (typeof fn !== 'function') {
    throw new TypeError(`SharedArray '${name}' needs a function that returns the array's elements`);
  }
  const items = fn();
  if (!Array.isArray(items)) {
    throw new TypeError(`SharedArray '${name}': the function must return an array, it returned ${items === null ? 'null' : typeof items}`);
  }
  // JSON.stringify gives undefined for undefined and functions: they read back as null.
  return sharedMake(name, items.map((item) => JSON.stringify(item) ?? 'null'));
}

/** The index `prop` names, or -1. */
function indexOf(prop, length) {
  if (typeof prop !== 'string') return -1;
  const i = Number(prop);
  return Number.isInteger(i) && i >= 0 && i < length && String(i) === prop ? i : -1;
}

function readOnly(name) {
  throw new TypeError(`SharedArray '${name}' is read-only`);
}

export class SharedArray {
  constructor(name, fn) {
    if (typeof name !== 'string' || name === '') {
      throw new TypeError('SharedArray needs a name: a non-empty string');
    }
    let length = lengths.get(name);
    if (length === undefined) {
      length = make(name, fn);
      lengths.set(name, length);
    }
    const read = (i) => freeze(JSON.parse(sharedGet(name, i) ?? 'null'));
    // An array as the proxy's target, as k6's: `Array.isArray` is true, and `JSON.stringify`
    // and `concat` treat it as an array.
    const target = [];
    Object.setPrototypeOf(target, SharedArray.prototype);
    return new Proxy(target, {
      get(t, prop) {
        if (prop === 'length') return length;
        const i = indexOf(prop, length);
        if (i >= 0) return read(i);
        return Reflect.get(t, prop);
      },
      has(t, prop) {
        return prop === 'length' || indexOf(prop, length) >= 0 || Reflect.has(t, prop);
      },
      ownKeys() {
        return Array.from({ length }, (_, i) => String(i)).concat('length');
      },
      getOwnPropertyDescriptor(t, prop) {
        // An array's `length` cannot be reported otherwise than as it is on the target:
        // writable and not configurable (writes are refused by `set` all the same).
        if (prop === 'length') return { value: length, writable: true, enumerable: false, configurable: false };
        const i = indexOf(prop, length);
        if (i < 0) return undefined;
        return { value: read(i), writable: false, enumerable: true, configurable: true };
      },
      set: () => readOnly(name),
      defineProperty: () => readOnly(name),
      deleteProperty: () => readOnly(name),
      setPrototypeOf: () => readOnly(name),
    });
  }

  *[Symbol.iterator]() {
    for (let i = 0; i < this.length; i++) yield this[i];
  }
}

// An array's methods: those that only read work (they use `length` and indices), those that
// write are refused by the proxy.
Object.setPrototypeOf(SharedArray.prototype, Array.prototype);
for (const m of ['at', 'every', 'filter', 'find', 'findIndex', 'findLast', 'findLastIndex', 'forEach', 'includes', 'indexOf', 'join', 'lastIndexOf', 'map', 'reduce', 'reduceRight', 'slice', 'some', 'entries', 'keys', 'values']) {
  Object.defineProperty(SharedArray.prototype, m, { value: Array.prototype[m], writable: true, configurable: true });
}

export default { SharedArray };
