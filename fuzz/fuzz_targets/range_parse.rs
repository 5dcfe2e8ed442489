//! Range parsing: `http_fileserver::range::parse(header, size)` with arbitrary header bytes
//! (lossy UTF-8) and size.
//!
//! Invariants (docs/behaviour.md, "Ranges"): no panic; every satisfiable range is non-empty and lies
//! inside the file (start + length <= size, without overflow); at most 32 ranges; their total
//! is at most the file size; an empty file never gets a satisfiable range.
#![no_main]

use http_fileserver::range::{parse, Ranges, MAX_RANGES};
use libfuzzer_sys::fuzz_target;

/// The largest file size Linux can report.
const MAX_SIZE: u64 = i64::MAX as u64;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    // The first byte picks how the size is read, so small sizes (where clamping matters) and
    // huge ones (where overflow lurks) both get explored.
    let (size, header) = match data[0] % 4 {
        0 => (u64::from(data[1]), &data[2..]),
        1 if data.len() >= 3 => (
            u64::from(u16::from_le_bytes([data[1], data[2]])),
            &data[3..],
        ),
        2 if data.len() >= 9 => (
            u64::from_le_bytes(data[1..9].try_into().unwrap()) % (MAX_SIZE + 1),
            &data[9..],
        ),
        // The largest sizes a file can have (st_size is an off_t: at most i64::MAX). With
        // size = u64::MAX the function lets ranges totalling more than the size through (its
        // total saturates at u64::MAX == size): unreachable for real files, reported once
        // (seeds/range_parse/overflow_total reproduces it with u64::MAX in place of MAX_SIZE).
        3 if data.len() >= 9 => (
            MAX_SIZE - u64::from_le_bytes(data[1..9].try_into().unwrap()) % 1024,
            &data[9..],
        ),
        _ => (u64::from(data[1]), &data[2..]),
    };
    let header = String::from_utf8_lossy(header);
    match parse(&header, size) {
        Ranges::Ignore | Ranges::Unsatisfiable => {}
        Ranges::Satisfiable(ranges) => {
            assert!(size > 0, "satisfiable range on an empty file: {header:?}");
            assert!(!ranges.is_empty(), "no ranges: {header:?}");
            assert!(
                ranges.len() <= MAX_RANGES,
                "{} ranges: {header:?}",
                ranges.len()
            );
            let mut total = 0u64;
            for r in &ranges {
                assert!(r.length > 0, "empty range {r:?} for {header:?} size {size}");
                let end = r.start.checked_add(r.length);
                assert!(
                    end.is_some_and(|e| e <= size),
                    "range {r:?} outside a file of {size} bytes: {header:?}"
                );
                assert!(r.end() < size);
                total = total.checked_add(r.length).expect("total overflows");
            }
            assert!(total <= size, "total {total} > size {size}: {header:?}");
        }
    }
});
