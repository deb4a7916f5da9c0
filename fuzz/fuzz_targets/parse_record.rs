//! Fuzz the record parser: any bytes, every format, must return (never panic).
#![no_main]

use jetlag_normalize::{Format, parse_json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut warnings = Vec::new();
    for format in Format::ALL {
        let _ = parse_json(data, format, &mut warnings);
        warnings.clear();
    }
});
