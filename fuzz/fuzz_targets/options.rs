#![no_main]
//! Fuzzes stampede's options parsing: see stampede_runtime::fuzzing::options.

libfuzzer_sys::fuzz_target!(|data: &[u8]| stampede_runtime::fuzzing::options(data));
