//! The one place the host's bindings are generated from `wit/`.
//!
//! Only the calls that wait on the network or a timer are async; the rest are plain calls,
//! which keeps the wasm boundary cheap on the hot path. Every import may trap (that is how
//! `abort-test` ends an iteration).

wasmtime::component::bindgen!({
    path: "wit",
    world: "script",
    imports: {
        "stampede:script/http.send": async | trappable,
        "stampede:script/http.batch": async | trappable,
        "stampede:script/http.send-json": async | trappable,
        "stampede:script/context.sleep": async | trappable,
        default: trappable,
    },
    exports: { default: async },
    with: {
        "stampede:script/http.response": crate::http::Exchange,
        "stampede:script/http.cookie-jar": crate::http::cookies::JarHandle,
    },
});
