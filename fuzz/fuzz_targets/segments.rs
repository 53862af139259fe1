#![no_main]
//! Fuzzes stampede's execution segment parsing and planning: see stampede_runtime::fuzzing::segments.

libfuzzer_sys::fuzz_target!(|data: &[u8]| stampede_runtime::fuzzing::segments(data));
