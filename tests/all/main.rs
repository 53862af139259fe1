//! stampede's integration tests: real guests built for wasm32-wasip2, the real `stampede`
//! binary, real HTTP servers on 127.0.0.1.

mod guests;
mod nginx;
mod semantics_server;
mod support;
mod wire;

mod capacity;
mod cli_errors;
mod examples;
mod html_report;
mod http2;
mod http2_hostile;
mod http_auth;
mod http_client;
mod http_compression;
mod http_cookies;
mod http_redirects;
mod http_sdks;
mod http_tls;
mod http_wire;
mod js_engine;
mod js_errors;
mod js_http;
mod js_modules;
mod js_source_maps;
mod js_typescript;
mod k6_cli;
mod k6_options;
mod kubernetes;
mod languages;
mod lifecycle;
mod load;
mod otlp;
mod outputs;
mod prometheus_rw;
mod sandbox;
mod scale_out;
mod scenarios;
mod script_faults;
mod sdk_units;
mod series;
mod target_faults;
mod windows;
