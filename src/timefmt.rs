//! UTC timestamps for the access log and listings, without a date-time crate.

/// Appends `YYYY-MM-DDTHH:MM:SSZ` for `secs` since the epoch, or `…SS.mmmZ` with `millis`.
pub fn push_rfc3339(out: &mut String, secs: u64, millis: Option<u32>) {
    let text = rfc3339_millis(secs, millis.unwrap_or(0));
    match millis {
        Some(_) => out.push_str(ascii(&text)),
        None => {
            out.push_str(ascii(&text[..19]));
            out.push('Z');
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for `secs` and `millis` since the epoch.
pub fn rfc3339_millis(secs: u64, millis: u32) -> [u8; 24] {
    let mut text = *b"0000-00-00T00:00:00.000Z";
    date_and_time(&mut text, secs, b"YYYY-MM-DDTHH:MM:SS");
    text[20] = b'0' + (millis / 100 % 10) as u8;
    two_digits(&mut text[21..23], millis % 100);
    text
}

/// Appends `YYYY-MM-DD HH:MM` (UTC) for `secs` since the epoch: the minute it is in, never
/// one it hasn't reached. Times before the epoch show as the epoch.
pub fn push_minutes(out: &mut String, secs: i64) {
    let mut text = *b"0000-00-00 00:00:00";
    date_and_time(&mut text, secs.max(0) as u64, b"YYYY-MM-DD HH:MM:SS");
    crate::page::push_short(out, ascii(&text[..16]));
}

/// `DD/Mon/YYYY:HH:MM:SS +0000` for `secs` since the epoch: the Common Log Format's time, in
/// UTC.
pub fn clf(secs: u64) -> [u8; 26] {
    let mut text = *b"01/Jan/1970:00:00:00 +0000";
    day_month_year_time(&mut text[..20], secs);
    text
}

/// Fills `DD?Mon?YYYY?HH:MM:SS` (the separators left as they are) for `secs` since the
/// epoch: the part the Common Log Format's time and the HTTP date share.
fn day_month_year_time(text: &mut [u8], secs: u64) {
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    two_digits(&mut text[0..2], d);
    text[3..6].copy_from_slice(MONTHS[(m as usize).clamp(1, 12) - 1].as_bytes());
    let year = y.clamp(0, 9999) as u32;
    two_digits(&mut text[7..9], year / 100);
    two_digits(&mut text[9..11], year % 100);
    time_of_day(&mut text[12..20], secs);
}

/// Fills `YYYY-MM-DD?HH:MM:SS` (the layout given, `?` any separator) at the start of `text`.
fn date_and_time(text: &mut [u8], secs: u64, layout: &[u8; 19]) {
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let year = y.clamp(0, 9999) as u32;
    two_digits(&mut text[0..2], year / 100);
    two_digits(&mut text[2..4], year % 100);
    two_digits(&mut text[5..7], m);
    two_digits(&mut text[8..10], d);
    text[10] = layout[10];
    time_of_day(&mut text[11..19], secs);
}

/// Fills `HH:MM:SS` of the day `secs` is in.
fn time_of_day(text: &mut [u8], secs: u64) {
    let t = (secs % 86_400) as u32;
    two_digits(&mut text[0..2], t / 3600);
    two_digits(&mut text[3..5], t / 60 % 60);
    two_digits(&mut text[6..8], t % 60);
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch.
pub fn rfc3339(secs: u64) -> String {
    let mut out = String::with_capacity(20);
    push_rfc3339(&mut out, secs, None);
    out
}

/// Text made only of ASCII digits and punctuation.
fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or("")
}

/// An HTTP date (RFC 9110 §5.6.7, IMF-fixdate): `Sun, 06 Nov 1994 08:49:37 GMT`.
pub struct HttpDate([u8; 29]);

impl HttpDate {
    /// The date `secs` after the epoch.
    pub fn of(secs: u64) -> HttpDate {
        const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
        let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
        out[..3].copy_from_slice(DAYS[(secs / 86_400 % 7) as usize]);
        day_month_year_time(&mut out[5..25], secs);
        HttpDate(out)
    }

    /// The date as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII was written.
        ascii(&self.0)
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Writes `n` (below 100) as two digits.
fn two_digits(out: &mut [u8], n: u32) {
    out[0] = b'0' + (n / 10 % 10) as u8;
    out[1] = b'0' + (n % 10) as u8;
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
        assert_eq!(&clf(1_700_000_000), b"14/Nov/2023:22:13:20 +0000");
        assert_eq!(&clf(951_782_400), b"29/Feb/2000:00:00:00 +0000");
        // The HTTP date agrees with httpdate's, across leap years and weekdays.
        for secs in [
            0,
            784_111_777,
            951_782_400,
            1_700_000_000,
            4_102_444_799,
            253_402_300_799,
        ] {
            let expected = httpdate::fmt_http_date(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs),
            );
            assert_eq!(HttpDate::of(secs).as_str(), expected, "{secs}");
        }
    }
}
