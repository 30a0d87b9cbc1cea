#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mcpwire_core::fuzzing::stdio_session(
    std::time::Instant::now(),
    data
));
