//! What the chapter's message-queue tools share: messages as C strings, and times as dates.

/// The bytes of a C string for `mtext`: `text` and its terminating NUL, as the slides' programs send
/// it (`strlen(text) + 1` bytes), so "Hi! my parent" travels as 14 bytes and a C peer can print it.
pub fn with_nul(text: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(text.len() + 1);
    bytes.extend_from_slice(text.as_bytes());
    bytes.push(0);
    bytes
}

/// The text of a received `mtext`: up to its first NUL (all of it if a truncating `MSG_NOERROR`
/// receive cut the NUL off, or the sender sent none).
pub fn text_of(mtext: &[u8]) -> String {
    let end = mtext.iter().position(|&byte| byte == 0).unwrap_or(mtext.len());
    String::from_utf8_lossy(&mtext[..end]).into_owned()
}

/// A `time_t` from `msqid_ds`: `never` for 0 (nothing sent or received yet), else the date in UTC,
/// e.g. `2023-11-14 22:13:20 UTC`. (The same as `ch10_keys::format_time`; one crate cannot use the
/// other's binaries' helpers.)
pub fn format_time(secs: i64) -> String {
    if secs == 0 {
        return "never".to_owned();
    }
    let (days, secs_of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (Howard Hinnant's `civil_from_days`).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    let (hour, minute, second) = (secs_of_day / 3600, secs_of_day % 3600 / 60, secs_of_day % 60);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_strings_carry_their_nul() {
        assert_eq!(with_nul("Hi! my parent").len(), 14);
        assert_eq!(text_of(&with_nul("Hi! my parent")), "Hi! my parent");
        assert_eq!(text_of(b"hell"), "hell", "truncated: no NUL");
    }

    #[test]
    fn times_print_as_utc_dates() {
        assert_eq!(format_time(0), "never");
        assert_eq!(format_time(1_700_000_000), "2023-11-14 22:13:20 UTC");
    }
}
