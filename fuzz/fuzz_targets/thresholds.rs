#![no_main]
//! Fuzzes stampede's thresholds parsing: see stampede_runtime::fuzzing::thresholds.

libfuzzer_sys::fuzz_target!(|data: &[u8]| stampede_runtime::fuzzing::thresholds(data));
