//! Path resolution: `http_fileserver::target::parse` on any string.
//!
//! Invariants (docs/behaviour.md, "From target to path"): no panic; the clean path is relative (no
//! leading `/`), has no empty, `.` or `..` segment and no NUL; the decoded path has no NUL; an
//! empty query is `None`; and cleaning is idempotent: re-parsing the clean path, fully
//! percent-encoded, gives the same clean path.
#![no_main]

use http_fileserver::target::{parse, Target, TargetError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    check(&raw);
});

fn check(raw: &str) {
    let path = match parse(raw) {
        Ok(Target::Path(path)) => path,
        Ok(Target::Asterisk) => {
            assert_eq!(raw, "*");
            return;
        }
        Err(TargetError::Malformed) | Err(TargetError::Nul) => return,
    };
    let clean = &path.clean;
    assert!(
        !clean.starts_with(b"/"),
        "leading / in clean {clean:?} from {raw:?}"
    );
    assert!(!clean.contains(&0), "NUL in clean {clean:?} from {raw:?}");
    assert!(!path.decoded.contains(&0), "NUL in decoded from {raw:?}");
    if !clean.is_empty() {
        for segment in clean.split(|&b| b == b'/') {
            assert!(
                !matches!(segment, b"" | b"." | b".."),
                "segment {segment:?} in clean {clean:?} from {raw:?}"
            );
        }
    }
    assert_ne!(path.query, Some(""), "empty query kept for {raw:?}");
    // The helpers used for redirects and policy don't panic.
    let _ = path.has_trailing_slash();
    let _ = path.last_segment();
    let _ = http_fileserver::policy::Dotfiles::Hide.hides_path(clean);

    // Idempotence: `/` + every byte of the clean path as %XX (slashes kept) cleans to itself.
    let mut again = String::from("/");
    for &b in clean {
        if b == b'/' {
            again.push('/');
        } else {
            again.push_str(&format!("%{b:02X}"));
        }
    }
    match parse(&again) {
        Ok(Target::Path(p)) => assert_eq!(&p.clean, clean, "not idempotent for {raw:?}"),
        other => panic!("re-parsing the clean path of {raw:?} gave {other:?}"),
    }
}
