//! A CPU cache hint shared by every stage's hot loop.
//!
//! Detection, enrichment and `scan`'s batch each look a value up by index a few events
//! before they need it, so that its cache miss overlaps the work in between. `std`'s
//! `prefetch_read` is not stable yet and no well-kept crate offers the hint, so it is
//! written once here.

/// Asks the CPU to fetch every cache line `value` spans into its caches. A hint: it never
/// faults, blocks or changes what a read returns, whatever the address. Does nothing on
/// CPUs other than x86-64.
#[inline]
pub fn prefetch<T: ?Sized>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        const LINE: usize = 64;
        let first = std::ptr::from_ref(value).cast::<i8>();
        let lines = (first as usize % LINE + std::mem::size_of_val(value).max(1)).div_ceil(LINE);
        for line in 0..lines {
            // SAFETY: a prefetch is a hint that never faults, whatever the address (so
            // `wrapping_add` past the value is fine); SSE is part of every x86-64 CPU.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    first.wrapping_add(line * LINE),
                );
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

#[cfg(test)]
mod tests {
    use super::prefetch;

    #[test]
    fn any_value_any_size_any_address() {
        // A hint must be harmless on anything: zero-sized, unaligned, unsized, big.
        prefetch(&());
        prefetch(&[0u8; 3][1..]);
        prefetch("a string slice");
        let big = vec![7u64; 4096];
        prefetch(big.as_slice());
        prefetch(&big[4095]);
        assert_eq!(big[4095], 7, "a prefetch changes nothing");
    }
}
