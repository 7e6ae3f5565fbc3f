//! The times in an `*_ds` structure (`msg_stime`, `shm_atime`, `sem_otime`…) as dates.

/// A `time_t` from an `*_ds` structure: `never` for 0 (the kernel's "not yet"), else the date in
/// UTC, e.g. `2023-11-14 22:13:20 UTC`.
pub fn format_time(secs: i64) -> String {
    if secs == 0 {
        return "never".to_owned();
    }
    let (days, secs_of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (Howard Hinnant's `civil_from_days`), so the workbook
    // needs no date crate; UTC because local time would need the C library's time zone code.
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
    fn times_print_as_utc_dates() {
        assert_eq!(format_time(0), "never");
        assert_eq!(format_time(1), "1970-01-01 00:00:01 UTC");
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_time(1_700_000_000), "2023-11-14 22:13:20 UTC");
        // Across the centuries of the 400-year era the algorithm counts in, and before 1970.
        assert_eq!(format_time(-1), "1969-12-31 23:59:59 UTC");
        assert_eq!(format_time(-2_208_988_800), "1900-01-01 00:00:00 UTC");
        assert_eq!(format_time(4_107_542_400), "2100-03-01 00:00:00 UTC");
        assert_eq!(format_time(13_574_563_200), "2400-02-29 00:00:00 UTC");
    }
}
