//! Output: PID-tagged lines, one colour per process on a terminal, plain text everywhere else.
//!
//! When several processes print to one terminal, a `[pid:N]` tag says who said what; colour makes
//! it visible at a glance. Colour is used only when standard output is a terminal and `NO_COLOR` is
//! not set (<https://no-color.org>), so pipes, files and the tests always see plain text.

use std::io::IsTerminal;

use colored::{Color, Colorize};

/// Decide once, at start-up, whether to colour (called by [`crate::cli::run`]).
pub fn init_colour() {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    let forced = std::env::var_os("CLICOLOR_FORCE").is_some_and(|value| !value.is_empty() && value != "0");
    let on = forced || (!no_color && std::io::stdout().is_terminal());
    colored::control::set_override(on);
}

const PALETTE: [Color; 6] =
    [Color::Cyan, Color::Yellow, Color::Magenta, Color::Green, Color::Blue, Color::BrightRed];

/// `text` in the colour of process `pid` (plain when colour is off).
pub fn in_colour_of(pid: u32, text: &str) -> String {
    text.color(PALETTE[pid as usize % PALETTE.len()]).to_string()
}

/// `[pid:N]` for this process, in its colour.
pub fn pid_tag() -> String {
    let pid = std::process::id();
    in_colour_of(pid, &format!("[pid:{pid}]"))
}

/// `root` for uid 0: the user name when the system knows it, else the number (as `ipcs` does).
pub fn user_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(user)) => user.name,
        _ => uid.to_string(),
    }
}

/// The group name for `gid`, else the number.
pub fn group_name(gid: u32) -> String {
    match nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid)) {
        Ok(Some(group)) => group.name,
        _ => gid.to_string(),
    }
}

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

/// Print a line tagged with this process's pid, like `println!`:
/// `say!("picks up the pen")` prints `[pid:4242] picks up the pen`.
///
/// One `println!` is one `write(2)` of a whole line, and a pipe write of up to `PIPE_BUF` bytes is
/// atomic, so lines from different processes never mix mid-line.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        println!("{} {}", $crate::out::pid_tag(), format_args!($($arg)*))
    };
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
    }

    #[test]
    fn root_has_a_name() {
        assert_eq!(user_name(0), "root");
        assert_eq!(user_name(4_000_000_000), "4000000000");
    }
}
