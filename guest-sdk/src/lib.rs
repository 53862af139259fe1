//! # stampede — write load-test scripts in Rust
//!
//! A stampede script is a WebAssembly component: a `cdylib` crate built for `wasm32-wasip2`
//! that depends on this crate and declares its entry points with [`script!`]. stampede runs it
//! once per virtual user (VU) and measures everything it does over HTTP.
//!
//! ```no_run
//! use stampede::{check, http, Options, Result};
//!
//! fn options() -> Options {
//!     Options::new()
//!         .vus(10)
//!         .duration("30s")
//!         .threshold("http_req_duration", "p(95)<250")
//! }
//!
//! fn iteration() -> Result<()> {
//!     let base = stampede::env("BASE_URL").unwrap_or_else(|| "http://127.0.0.1:8080".into());
//!     let res = http::get(&format!("{base}/get"));
//!     check!(res, {
//!         "status is 200" => |r| r.status() == 200,
//!         "body is not empty" => |r| !r.body().is_empty(),
//!     });
//!     Ok(())
//! }
//!
//! stampede::script! {
//!     options: options,
//!     default: iteration,
//! }
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2` (or let `stampede run DIR` do
//! it) and run the resulting `.wasm` with `stampede run`.
//!
//! ## Entry points
//!
//! [`script!`] takes these keys, in any order; only `default` is required:
//!
//! | key | function | called |
//! |---|---|---|
//! | `options` | `fn() -> Options` | once, before anything else |
//! | `metrics` | `[&Trend, &Counter, …]` | declares custom metrics up front, so thresholds can name them |
//! | `setup` | `fn() -> Result<D>` (`D: Serialize + DeserializeOwned`) | once, before the load |
//! | `default` | `fn() -> Result<()>` or `fn(&D) -> Result<()>` | every iteration |
//! | `exec` | `[name, …]`: more entry points, same signatures as `default` | by scenarios' `exec` |
//! | `teardown` | `fn() -> Result<()>` or `fn(&D) -> Result<()>` | once, after the load |
//!
//! Entry points may also return `()`. An `Err` (or a panic) ends the iteration; stampede counts
//! it, logs it and carries on. An error in `setup` or `teardown` fails the test (exit code 107).

#![warn(missing_docs)]

// The generated bindings name this crate by its public name, also from inside it.
extern crate self as stampede;

pub mod check;
pub mod context;
mod cookies;
pub mod http;
pub mod metrics;
pub mod options;

#[doc(hidden)]
pub mod __private;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../host-api/wit",
        world: "script",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "stampede::bindings",
        runtime_path: "::stampede::__private::wit_bindgen_rt",
    });
}

pub use anyhow::{anyhow, bail, ensure, Context as _, Error};
pub use check::check;
pub use context::{
    abort_test, env, fail_test, group, ids, info, log, sleep, sleep_secs, ExecInfo, TestIds,
};
pub use metrics::{Counter, Gauge, Rate, Trend};
pub use options::Options;
pub use serde_json::{json, Value as Json};

/// The result type of entry points: any error converts into it with `?`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Declares the script's entry points and exports them to stampede.
///
/// See the [crate documentation](crate#entry-points) for the keys and their signatures.
///
/// ```no_run
/// # use stampede::{http, Result};
/// # #[derive(serde::Serialize, serde::Deserialize)] struct Session { token: String }
/// fn setup() -> Result<Session> {
///     Ok(Session { token: "t0k3n".into() })
/// }
/// fn browse(session: &Session) -> Result<()> {
///     http::Request::get("http://127.0.0.1:8080/get")
///         .header("authorization", &format!("Bearer {}", session.token))
///         .send();
///     Ok(())
/// }
/// fn checkout() {}
///
/// stampede::script! {
///     setup: setup,
///     default: browse,
///     exec: [checkout],
/// }
/// ```
#[macro_export]
macro_rules! script {
    ($($body:tt)*) => {
        $crate::__script_parse! {
            [options: ($crate::__private::no_options)]
            [metrics: ()]
            [setup: ($crate::__private::no_setup)]
            [default: ()]
            [exec: ()]
            [teardown: ($crate::__private::no_teardown)]
            $($body)*
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __script_parse {
    // The `exec` list first: its items are names, not expressions.
    ([options: $o:tt] [metrics: $m:tt] [setup: $s:tt] [default: $d:tt] [exec: $e:tt] [teardown: $t:tt]
     exec: [$($name:ident),* $(,)?] $(, $($rest:tt)*)?) => {
        $crate::__script_parse! { [options: $o] [metrics: $m] [setup: $s] [default: $d]
            [exec: ($($name)*)] [teardown: $t] $($($rest)*)? }
    };
    ([options: $o:tt] [metrics: $m:tt] [setup: $s:tt] [default: $d:tt] [exec: $e:tt] [teardown: $t:tt]
     metrics: [$($metric:expr),* $(,)?] $(, $($rest:tt)*)?) => {
        $crate::__script_parse! { [options: $o] [metrics: ($($metric),*)] [setup: $s] [default: $d]
            [exec: $e] [teardown: $t] $($($rest)*)? }
    };
    ([options: $o:tt] [metrics: $m:tt] [setup: $s:tt] [default: $d:tt] [exec: $e:tt] [teardown: $t:tt]
     options: $v:expr $(, $($rest:tt)*)?) => {
        $crate::__script_parse! { [options: ($v)] [metrics: $m] [setup: $s] [default: $d]
            [exec: $e] [teardown: $t] $($($rest)*)? }
    };
    ([options: $o:tt] [metrics: $m:tt] [setup: $s:tt] [default: $d:tt] [exec: $e:tt] [teardown: $t:tt]
     setup: $v:expr $(, $($rest:tt)*)?) => {
        $crate::__script_parse! { [options: $o] [metrics: $m] [setup: ($v)] [default: $d]
            [exec: $e] [teardown: $t] $($($rest)*)? }
    };
    ([options: $o:tt] [metrics: $m:tt] [setup: $s:tt] [default: $d:tt] [exec: $e:tt] [teardown: $t:tt]
     default: $v:expr $(, $($rest:tt)*)?) => {
        $crate::__script_parse! { [options: $o] [metrics: $m] [setup: $s] [default: ($v)]
            [exec: $e] [teardown: $t] $($($rest)*)? }
    };
    ([options: $o:tt] [metrics: $m:tt] [setup: $s:tt] [default: $d:tt] [exec: $e:tt] [teardown: $t:tt]
     teardown: $v:expr $(, $($rest:tt)*)?) => {
        $crate::__script_parse! { [options: $o] [metrics: $m] [setup: $s] [default: $d]
            [exec: $e] [teardown: ($v)] $($($rest)*)? }
    };
    ([options: $o:tt] [metrics: $m:tt] [setup: $s:tt] [default: ()] [exec: $e:tt] [teardown: $t:tt]) => {
        ::core::compile_error!(
            "stampede::script! needs a `default: <function>` entry point, e.g. `stampede::script! { default: iteration }`"
        );
    };
    ([options: ($options:expr)] [metrics: ($($metric:expr),*)] [setup: ($setup:expr)]
     [default: ($default:expr)] [exec: ($($name:ident)*)] [teardown: ($teardown:expr)]) => {
        #[doc(hidden)]
        struct __StampedeScript;

        impl $crate::bindings::Guest for __StampedeScript {
            fn options() -> ::std::string::String {
                $( $crate::metrics::Declare::declare(&$metric); )*
                $crate::__private::options_json($options)
            }
            fn entry_points() -> ::std::vec::Vec<::std::string::String> {
                ::std::vec!["default".into() $(, ::core::stringify!($name).into())*]
            }
            fn setup() -> ::core::result::Result<::std::vec::Vec<u8>, ::std::string::String> {
                $crate::__private::run_setup(&$setup)
            }
            // `entry` is an index into `entry_points`' list: `default`, then `exec`'s order.
            fn iteration(entry: u32) -> ::core::result::Result<(), ::std::string::String> {
                if entry == 0 {
                    return $crate::__private::run_iteration(&$setup, &$default);
                }
                #[allow(unused_mut)]
                let mut _index = 0u32;
                $(
                    _index += 1;
                    if entry == _index {
                        return $crate::__private::run_iteration(&$setup, &$name);
                    }
                )*
                $crate::__private::no_entry(entry)
            }
            fn teardown(data: ::std::vec::Vec<u8>) -> ::core::result::Result<(), ::std::string::String> {
                $crate::__private::run_entry(&$setup, &$teardown, &data)
            }
        }

        $crate::bindings::export!(__StampedeScript with_types_in $crate::bindings);
    };
    ($($other:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "stampede::script! does not understand `", ::core::stringify!($($other)*),
            "`: expected `key: value` pairs with keys options, metrics, setup, default, exec, teardown"
        ));
    };
}
