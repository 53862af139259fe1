// Access to the host's imports (the `stampede:script` world's interfaces).
//
// The SDK never imports `stampede:script/*` itself. The generated entry module does, and hands
// the four interfaces over in `globalThis.__stampedeHost` just before it evaluates the bundled
// script for the first time. That keeps the SDK independent of componentize-js (it can be
// tested under Node with a fake host) and makes the whole script, SDK included, evaluate at
// run time: host imports cannot be called while componentize-js pre-initialises the component
// (Wizer), and k6 scripts routinely read `__ENV` or create metrics at their top level.

const host = globalThis.__stampedeHost;
if (!host) {
  throw new Error(
    'stampede: the host interfaces are missing; this module only runs inside a stampede script component',
  );
}

/** `stampede:script/http`: `send`, `sendJson`, `batch`, `vuCookieJar`, the `CookieJar` resource. */
export const http = host.http;
/** `stampede:script/checks`: `check(name, ok, tags)`. */
export const checks = host.checks;
/** `stampede:script/metrics`: `register(name, kind, isTime)`, `add(handle, value, tags)`. */
export const metrics = host.metrics;
/** `stampede:script/context`: `info`, `env`, `sleep`, `log`, groups, `abortTest`, `failTest`. */
export const context = host.context;
