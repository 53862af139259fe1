#![no_main]
//! Fuzzes stampede's partial result reading and merging: see stampede_runtime::fuzzing::partial.

libfuzzer_sys::fuzz_target!(|data: &[u8]| stampede_runtime::fuzzing::partial(data));
