//! UTC timestamps for the access log and listings, without a date-time crate.

use std::fmt::Write as _;

/// Appends `YYYY-MM-DDTHH:MM:SSZ` for `secs` since the epoch, or `…SS.mmmZ` with `millis`.
pub fn push_rfc3339(out: &mut String, secs: u64, millis: Option<u32>) {
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let t = secs % 86_400;
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        t / 3600,
        t / 60 % 60,
        t % 60
    );
    if let Some(ms) = millis {
        let _ = write!(out, ".{ms:03}");
    }
    out.push('Z');
}

/// Appends `YYYY-MM-DD HH:MM` (UTC) for `secs` since the epoch: the minute it is in, never
/// one it hasn't reached. Times before the epoch show as the epoch.
pub fn push_minutes(out: &mut String, secs: i64) {
    let secs = secs.max(0) as u64;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let t = secs % 86_400;
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        t / 3600,
        t / 60 % 60
    );
}

/// Appends `DD/Mon/YYYY:HH:MM:SS +0000` for `secs` since the epoch: the Common Log Format's
/// time, in UTC.
pub fn push_clf(out: &mut String, secs: u64) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let t = secs % 86_400;
    let month = MONTHS[(m as usize).clamp(1, 12) - 1];
    let _ = write!(
        out,
        "{d:02}/{month}/{y:04}:{:02}:{:02}:{:02} +0000",
        t / 3600,
        t / 60 % 60,
        t % 60
    );
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch.
pub fn rfc3339(secs: u64) -> String {
    let mut out = String::with_capacity(20);
    push_rfc3339(&mut out, secs, None);
    out
}

/// Year, month, day of a day number counted from 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
        let mut s = String::new();
        push_rfc3339(&mut s, 1_700_000_000, Some(7));
        assert_eq!(s, "2023-11-14T22:13:20.007Z");
        s.clear();
        push_minutes(&mut s, 1_700_000_039);
        assert_eq!(s, "2023-11-14 22:13");
        s.clear();
        push_minutes(&mut s, -5);
        assert_eq!(s, "1970-01-01 00:00");
        s.clear();
        push_clf(&mut s, 1_700_000_000);
        assert_eq!(s, "14/Nov/2023:22:13:20 +0000");
        s.clear();
        push_clf(&mut s, 951_782_400);
        assert_eq!(s, "29/Feb/2000:00:00:00 +0000");
    }
}
