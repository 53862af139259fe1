//! stampede's integration tests: real guests built for wasm32-wasip2, the real `stampede`
//! binary, real HTTP servers on 127.0.0.1.

mod guests;
mod support;

mod cli_errors;
mod examples;
mod http_client;
mod js_engine;
mod js_errors;
mod js_modules;
mod languages;
mod lifecycle;
mod load;
mod sandbox;
mod scenarios;
mod script_faults;
mod sdk_units;
mod target_faults;
