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
        "stampede:script/http.send-with-status": async | trappable,
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

/// The `js-engine` world: `script` plus the script's files, `execution` and `async-http`; the
/// other interfaces are the ones above.
pub mod js {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "js-engine",
        imports: {
            "stampede:script/async-http.wait": async | trappable,
            "stampede:script/async-http.send-checked": async | trappable,
            "stampede:script/async-http.batch-checked": async | trappable,
            default: trappable,
        },
        exports: { default: async },
        require_store_data_send: true,
        with: {
            "stampede:script/http": crate::bindings::stampede::script::http,
            "stampede:script/checks": crate::bindings::stampede::script::checks,
            "stampede:script/metrics": crate::bindings::stampede::script::metrics,
            "stampede:script/context": crate::bindings::stampede::script::context,
        },
    });
}
