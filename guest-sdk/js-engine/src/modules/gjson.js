// GJSON paths, for `res.json(selector)`: k6 answers a selector with github.com/tidwall/gjson,
// and this module follows that syntax over a parsed JSON value:
//
//   name.first          keys, separated by '.'; '\' escapes '.', '*', '?' and itself
//   fav.movie?          '*' and '?' match any characters / one character of a key
//   children.1          an index into an array
//   children.#          the length of an array
//   friends.#.first     the path after '#.' taken from every element (those that have it)
//   friends.#(age>40).last      the first element whose query holds (==, =, !=, <, <=, >, >=,
//   friends.#(age>40)#.last     % and !% patterns, ~true/~false/~null/~* coercions), or '#'
//                               at the end for all of them
//   a|b, @reverse, @keys, @values, @flatten, @join, @this, @valid, @tostr, @fromstr,
//   @pretty, @ugly, [a,b] and {a,b:c} multipaths, and !true / !"text" / !12 literals.
//
// `select` returns `undefined` when the path leads nowhere, as k6 does. Where a value comes
// from JSON.parse rather than gjson's scan of the text, two things differ: a key that appears
// twice in an object is its last value (gjson: the first), and keys that are array indexes
// come first in an object's order (gjson: the document's order).

const NONE = Symbol('none');

/** The value at `path` in `doc` (a parsed JSON value), or `undefined`. */
export function select(doc, path) {
  const value = get(doc, String(path));
  return value === NONE ? undefined : value;
}

const isContainer = (v) => v !== null && typeof v === 'object';

function get(json, path) {
  if (path.length > 1) {
    if (path[0] === '@' || path[0] === '!') {
      const done = path[0] === '@' ? modifier(json, path) : literal(path);
      if (done) {
        const rest = done.rest;
        if (rest.length > 0 && (rest[0] === '|' || rest[0] === '.')) return get(done.value, rest.slice(1));
        return done.value;
      }
    }
    if (path[0] === '[' || path[0] === '{') {
      const multi = multipath(json, path);
      if (multi !== null) return multi;
    }
  }
  if (!isContainer(json)) return NONE;
  const ctx = { pipe: null };
  const value = descend(json, path, ctx);
  if (ctx.pipe !== null) return value === NONE ? NONE : get(value, ctx.pipe);
  return value;
}

function descend(value, path, ctx) {
  return Array.isArray(value) ? inArray(value, path, ctx) : inObject(value, path, ctx);
}

// Whether a path component after '.' starts a modifier or a multipath (then it is piped).
function pipesAfterDot(rest) {
  const c = rest[0];
  if (c === '@') {
    let i = 1;
    while (i < rest.length && rest[i] !== '.' && rest[i] !== '|' && rest[i] !== ':') i++;
    return Object.hasOwn(MODIFIERS, rest.slice(1, i));
  }
  return c === '[' || c === '{';
}

function objectPath(path) {
  const r = { part: '', path: '', pipe: null, more: false, wild: false };
  let part = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (c === '|') {
      r.part = part;
      r.pipe = path.slice(i + 1);
      return r;
    }
    if (c === '.') {
      r.part = part;
      const rest = path.slice(i + 1);
      if (rest.length > 0 && pipesAfterDot(rest)) r.pipe = rest;
      else {
        r.path = rest;
        r.more = true;
      }
      return r;
    }
    if (c === '*' || c === '?') r.wild = true;
    if (c === '\\' && i + 1 < path.length) {
      i++;
      part += path[i];
      continue;
    }
    part += c;
  }
  r.part = part;
  return r;
}

function inObject(obj, path, ctx) {
  const rp = objectPath(path);
  if (!rp.more && rp.pipe !== null) ctx.pipe = rp.pipe;
  for (const key of Object.keys(obj)) {
    if (rp.wild ? !wildMatch(key, rp.part) : key !== rp.part) continue;
    const value = obj[key];
    if (!rp.more) return value;
    if (isContainer(value)) {
      const found = descend(value, rp.path, ctx);
      if (found !== NONE) return found;
    }
  }
  return NONE;
}

function arrayPath(path) {
  const r = { part: path, path: '', pipe: null, more: false, hash: false, each: null, query: null };
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (c === '|') {
      r.part = path.slice(0, i);
      r.pipe = path.slice(i + 1);
      return r;
    }
    if (c === '.') {
      r.part = path.slice(0, i);
      const rest = path.slice(i + 1);
      if (!r.hash && rest.length > 0 && pipesAfterDot(rest)) r.pipe = rest;
      else {
        r.path = rest;
        r.more = true;
      }
      return r;
    }
    if (c !== '#') continue;
    r.hash = true;
    if (i !== 0 || path.length < 2) continue;
    if (path[1] === '.') {
      r.each = path.slice(2);
      r.part = '#';
      return r;
    }
    if (path[1] === '(' || path[1] === '[') {
      const q = parseQuery(path);
      if (q === null) break;
      r.query = q;
      i = q.end - 1;
      if (path[i + 1] === '#') r.query.all = true;
    }
  }
  r.part = path;
  return r;
}

function inArray(arr, path, ctx) {
  const rp = arrayPath(path);
  if (!rp.more && rp.pipe !== null) ctx.pipe = rp.pipe;
  if (!rp.hash) {
    if (!/^[0-9]+$/.test(rp.part)) return NONE;
    const value = arr[Number(rp.part)];
    if (value === undefined) return NONE;
    if (!rp.more) return value;
    return isContainer(value) ? descend(value, rp.path, ctx) : NONE;
  }
  if (rp.query !== null) return queryArray(arr, rp, ctx);
  if (rp.each !== null) {
    const [left, right] = splitPipe(rp.each);
    if (right !== null) ctx.pipe = right;
    const out = [];
    for (const el of arr) {
      const v = get(el, left);
      if (v !== NONE) out.push(v);
    }
    return out;
  }
  return rp.part === '#' ? arr.length : NONE;
}

function queryArray(arr, rp, ctx) {
  const q = rp.query;
  const all = [];
  for (const el of arr) {
    let subject;
    if (isContainer(el)) subject = get(el, q.path);
    else if (q.path !== '') continue;
    else subject = el;
    if (!queryMatches(q, subject)) continue;
    let out = el;
    if (rp.more) {
      const [left, right] = splitPipe(rp.path);
      if (right !== null) ctx.pipe = right;
      out = get(el, left);
    }
    if (!q.all) return out;
    if (out !== NONE) all.push(out);
  }
  return q.all ? all : NONE;
}

// `a|b` outside brackets and quotes: [a, b], or [path, null].
function splitPipe(path) {
  let depth = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (c === '\\') i++;
    else if (c === '"') i = skipString(path, i);
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === '|' && depth === 0) return [path.slice(0, i), path.slice(i + 1)];
  }
  return [path, null];
}

// The index of the quote that closes the string opened at `i`.
function skipString(text, i) {
  for (i++; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') break;
  }
  return i;
}

// `#(path op value)` at the start of `text`: {path, op, value, end}, or null.
function parseQuery(text) {
  let depth = 1;
  let opAt = 0;
  let i = 2;
  let escaped = false;
  for (; i < text.length; i++) {
    const c = text[i];
    if (depth === 1 && opAt === 0 && '!=<>%'.includes(c)) {
      opAt = i;
      continue;
    }
    if (c === '\\') i++;
    else if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') {
      if (--depth === 0) break;
    } else if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === '\\') {
          escaped = true;
          i++;
        }
      }
    }
  }
  if (depth > 0) return null;
  if (opAt === 0) return { path: text.slice(2, i).trim(), op: '', value: '', end: i + 1, all: false };
  let value = text.slice(opAt, i).trim();
  let size = 1;
  if (value.length > 1 && ['!=', '!%', '<=', '>='].includes(value.slice(0, 2))) size = 2;
  else if (value.startsWith('==')) value = value.slice(1);
  const op = value.slice(0, size);
  value = value.slice(size).trim();
  if (value.length >= 2 && value[0] === '"' && value[value.length - 1] === '"') {
    value = value.slice(1, -1);
    if (escaped) value = unescape(value);
  }
  return { path: text.slice(2, opAt).trim(), op, value, end: i + 1, all: false };
}

function unescape(text) {
  try {
    return JSON.parse(`"${text}"`);
  } catch {
    return text;
  }
}

const parseBool = (s) => {
  const t = s.toLowerCase();
  if (t === '1' || t === 't' || t === 'true') return true;
  if (t === '0' || t === 'f' || t === 'false') return false;
  return null;
};
const trueish = (v) =>
  v === true || (typeof v === 'string' && parseBool(v) === true) || (typeof v === 'number' && v !== 0);
const falseish = (v) =>
  v === null || v === false || (typeof v === 'string' && parseBool(v) === false) || v === 0;

function queryMatches(q, value) {
  let want = q.value;
  if (want[0] === '~') {
    const coerce = { '*': (v) => v !== NONE, null: (v) => v === null, true: trueish, false: falseish }[want.slice(1)];
    if (coerce === undefined) return false;
    value = coerce(value);
    want = 'true';
  }
  if (value === NONE) return false;
  if (q.op === '') return true;
  if (typeof value === 'string') {
    switch (q.op) {
      case '=': return value === want;
      case '!=': return value !== want;
      case '<': return value < want;
      case '<=': return value <= want;
      case '>': return value > want;
      case '>=': return value >= want;
      case '%': return wildMatch(value, want);
      case '!%': return !wildMatch(value, want);
    }
    return false;
  }
  if (typeof value === 'number') {
    const n = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(want) ? Number(want) : 0;
    switch (q.op) {
      case '=': return value === n;
      case '!=': return value !== n;
      case '<': return value < n;
      case '<=': return value <= n;
      case '>': return value > n;
      case '>=': return value >= n;
    }
    return false;
  }
  if (value === true) return { '=': want === 'true', '!=': want !== 'true', '>': want === 'false', '>=': true }[q.op] ?? false;
  if (value === false) return { '=': want === 'false', '!=': want !== 'false', '<': want === 'true', '<=': true }[q.op] ?? false;
  return false;
}

// '*' (any characters) and '?' (one character) patterns; '\' escapes. At most 10,000 steps
// of backtracking, as gjson allows, so a hostile pattern cannot hold a VU.
function wildMatch(text, pattern) {
  const chars = Array.from(text);
  const pat = Array.from(pattern);
  let budget = 10000;
  const at = (t, p) => {
    while (p < pat.length) {
      if (--budget < 0) return false;
      const c = pat[p];
      if (c === '*') {
        while (pat[p] === '*') p++;
        if (p === pat.length) return true;
        for (let k = t; k <= chars.length; k++) if (at(k, p)) return true;
        return false;
      }
      if (t >= chars.length) return false;
      if (c === '?') {
        t++;
        p++;
        continue;
      }
      const lit = c === '\\' && p + 1 < pat.length ? pat[++p] : c;
      if (chars[t] !== lit) return false;
      t++;
      p++;
    }
    return t === chars.length;
  };
  return at(0, 0);
}

// `[a,b]` or `{a,name:b}` at the start of `path`, then an optional `.rest` / `|rest`.
function multipath(json, path) {
  const kind = path[0];
  const parts = [];
  let depth = 1;
  let start = 1;
  let colon = 0;
  let end = -1;
  const push = (i) => {
    parts.push(colon ? { name: path.slice(start, colon), path: path.slice(colon + 1, i) } : { name: null, path: path.slice(start, i) });
    colon = 0;
    start = i + 1;
  };
  for (let i = 1; i < path.length && end < 0; i++) {
    const c = path[i];
    if (c === '\\') i++;
    else if (c === ':' && colon === 0 && depth === 1) colon = i;
    else if (c === ',' && depth === 1) push(i);
    else if (c === '"') i = skipString(path, i);
    else if ('[({'.includes(c)) depth++;
    else if (')]}'.includes(c) && --depth === 0) {
      push(i);
      end = i;
    }
  }
  if (end < 0) return null;
  const rest = path.slice(end + 1);
  if (rest.length > 0 && rest[0] !== '.' && rest[0] !== '|') return null;
  let out;
  if (kind === '[') {
    out = parts.map((p) => get(json, p.path)).filter((v) => v !== NONE);
  } else {
    out = {};
    for (const p of parts) {
      const v = get(json, p.path);
      if (v === NONE) continue;
      let name = p.name;
      if (name === null) {
        const last = lastName(p.path);
        name = /^[^[\]{}()#|!\x00-\x1f]*$/.test(last) ? last : '_';
      } else if (name.startsWith('"')) name = unescape(name.slice(1, -1));
      out[name] = v;
    }
  }
  return rest.length > 0 ? get(out, rest.slice(1)) : out;
}

function lastName(path) {
  for (let i = path.length - 1; i >= 0; i--) {
    if ((path[i] === '|' || path[i] === '.') && !(i > 0 && path[i - 1] === '\\')) return path.slice(i + 1);
  }
  return path;
}

// `!true`, `!null`, `!12`, `!"text"`: a value written in the path.
function literal(path) {
  const m = /^!("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(path);
  if (m) return { value: JSON.parse(m[1]), rest: path.slice(m[0].length) };
  const word = /^!([A-Za-z]+)/.exec(path);
  if (!word) return null;
  const words = { true: true, false: false, null: null, nan: NaN, inf: Infinity };
  const name = word[1].toLowerCase();
  if (!Object.hasOwn(words, name)) return null;
  return { value: words[name], rest: path.slice(word[0].length) };
}

function modifier(json, path) {
  let i = 1;
  while (i < path.length && !':|.'.includes(path[i])) i++;
  const name = path.slice(1, i);
  if (!Object.hasOwn(MODIFIERS, name)) return null;
  let rest = path.slice(i);
  let arg = '';
  if (rest[0] === ':') {
    rest = rest.slice(1);
    const [a, r] = splitPipe(rest);
    arg = a;
    rest = r === null ? '' : `|${r}`;
  }
  if (json === NONE) return { value: NONE, rest };
  return { value: MODIFIERS[name](json, arg), rest };
}

const argFlag = (arg, key) => {
  try {
    const parsed = JSON.parse(arg);
    return isContainer(parsed) && trueish(parsed[key]);
  } catch {
    return false;
  }
};

const flatten = (arr, deep) =>
  arr.flatMap((v) => (Array.isArray(v) ? (deep ? flatten(v, true) : v) : [v]));

const MODIFIERS = {
  this: (v) => v,
  pretty: (v) => v,
  ugly: (v) => v,
  valid: (v) => v,
  reverse: (v) => {
    if (Array.isArray(v)) return [...v].reverse();
    if (isContainer(v)) return Object.fromEntries(Object.entries(v).reverse());
    return v;
  },
  keys: (v) => (Array.isArray(v) ? v.map(() => null) : isContainer(v) ? Object.keys(v) : []),
  values: (v) => (Array.isArray(v) ? v : isContainer(v) ? Object.values(v) : [v]),
  flatten: (v, arg) => (Array.isArray(v) ? flatten(v, argFlag(arg, 'deep')) : v),
  join: (v) => (Array.isArray(v) ? Object.assign({}, ...v.filter((o) => isContainer(o) && !Array.isArray(o))) : v),
  tostr: (v) => JSON.stringify(v),
  fromstr: (v) => {
    if (typeof v !== 'string') return v;
    try {
      return JSON.parse(v);
    } catch {
      return NONE;
    }
  },
};
