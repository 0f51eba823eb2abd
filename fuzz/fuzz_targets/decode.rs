#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| indi_fuzz::decode(data));
