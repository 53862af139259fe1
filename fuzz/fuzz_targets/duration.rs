#![no_main]
//! Fuzzes stampede's duration parsing: see stampede_runtime::fuzzing::duration.

libfuzzer_sys::fuzz_target!(|data: &[u8]| stampede_runtime::fuzzing::duration(data));
