//! Parsing into a reused `SignIn` allocates nothing per record once its buffers have
//! grown: every vendor's documented example, 2,000 distinct records each, counted by a
//! global allocator that counts this thread's allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use jetlag_normalize::{Filled, Format, SignIn, parse_json_into};

#[path = "../benches/records.rs"]
mod records;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

struct Counting;

// SAFETY: every call is passed on to the system allocator unchanged; the counter is a
// thread-local `Cell` with a const initializer (no allocation, no destructor).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: as the caller promised for `layout`.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: as the caller promised.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn parsing_into_a_reused_signin_allocates_nothing_per_record() {
    let mut report = Vec::new();
    for (name, format, template) in records::vendors() {
        let recs: Vec<Vec<u8>> = records::records(template).into_iter().take(2_100).collect();
        for format in [format, Format::Auto] {
            let mut ev = SignIn::new(
                "",
                "2000-01-01T00:00:00Z".parse().unwrap(),
                jetlag_normalize::Source::Csv,
                "",
                jetlag_event::Outcome::Unknown,
            );
            let mut warnings = Vec::new();
            let mut parse = |rec: &[u8], ev: &mut SignIn| {
                let filled = parse_json_into(rec, format, ev, &mut warnings).unwrap();
                assert_eq!(filled, Filled::Event, "{name}");
                assert!(warnings.is_empty(), "{name}: {warnings:?}");
            };
            // Warm up: the event's buffers grow to the records' sizes.
            for rec in &recs[..100] {
                parse(rec, &mut ev);
            }
            let before = allocations();
            for rec in &recs[100..] {
                parse(rec, &mut ev);
            }
            report.push(format!("{name} {format:?}: {}", allocations() - before));
        }
    }
    println!("{report:#?}");
    assert!(report.iter().all(|r| r.ends_with(": 0")), "{report:#?}");
}
