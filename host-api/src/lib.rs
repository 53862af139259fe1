//! stampede's host API: the WIT package in `wit/` (the one source of truth for scripts) and
//! the host side of each of its interfaces.
//!
//! The embedder (stampede's runtime) keeps a [`VuClient`](http::VuClient) and something that
//! implements [`VuHooks`] in each VU's store, exposes them through [`ScriptView`], and calls
//! [`add_to_linker`]. The HTTP interface is served here in full; checks, metrics and the
//! execution context are forwarded to the hooks, which own metrics and scheduling.

pub mod async_http;
mod bindings;
pub mod execution;
pub mod fetch;
pub mod fuzzing;
mod host;
mod host_jar;
pub mod http;
pub mod memory;
pub mod modules;
pub mod wasi_http;

pub use bindings::js::SummaryOutcome;
pub use bindings::stampede::script::context::{ExecInfo, LogLevel, TestIds};
pub use bindings::stampede::script::metrics::MetricType;
pub use bindings::{Script, ScriptPre};
pub use host::{
    add_to_linker, RequestMeta, RequestThrown, ScriptApi, ScriptCtxView, ScriptView, TestAborted,
    VuHooks,
};
