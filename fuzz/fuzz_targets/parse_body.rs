//! Fuzz the readers and the normalizer together: any body (NDJSON, documents, wrappers,
//! CSV, gzip) must be read without a panic, and every record must be accounted for.
#![no_main]

use jetlag_normalize::{Format, parse_body};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = parse_body("fuzz", data, Format::Auto) {
        let t = body.stats.total();
        assert_eq!(t.read, t.parsed + t.skipped + t.rejected);
        assert_eq!(body.events.len() as u64, t.parsed);
        assert_eq!(body.rejects.len() as u64, t.rejected);
    }
});
