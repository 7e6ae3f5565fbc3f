//! Output: PID-tagged lines, one colour per process on a terminal, plain text everywhere else.
//!
//! When several processes print to one terminal, a `[pid:N]` tag says who said what; colour makes
//! it visible at a glance. Colour is used only when standard output is a terminal and `NO_COLOR` is
//! not set (<https://no-color.org>), so pipes, files and the tests always see plain text.

use std::ffi::OsStr;
use std::io::IsTerminal;

use colored::{Color, Colorize};

pub use crate::time::format_time;
pub use crate::user::{group_name, user_name};

/// Decide once, at start-up, whether to colour (called by [`crate::cli::run`]).
pub fn init_colour() {
    let (no_color, force) = (std::env::var_os("NO_COLOR"), std::env::var_os("CLICOLOR_FORCE"));
    colored::control::set_override(colour_wanted(
        no_color.as_deref(),
        force.as_deref(),
        std::io::stdout().is_terminal(),
    ));
}

/// Colour when `CLICOLOR_FORCE` is set (not to 0), else on a terminal unless `NO_COLOR` is set (not empty).
fn colour_wanted(no_color: Option<&OsStr>, force: Option<&OsStr>, terminal: bool) -> bool {
    let no_color = no_color.is_some_and(|value| !value.is_empty());
    let forced = force.is_some_and(|value| !value.is_empty() && value != "0");
    forced || (!no_color && terminal)
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
    fn colour_on_a_terminal_unless_no_color_and_always_when_forced() {
        let some = |text| Some(OsStr::new(text));
        assert!(colour_wanted(None, None, true));
        assert!(!colour_wanted(None, None, false), "a pipe or a file: plain");
        assert!(!colour_wanted(some("1"), None, true), "NO_COLOR");
        assert!(colour_wanted(some(""), None, true), "an empty NO_COLOR is not set");
        assert!(colour_wanted(some("1"), some("1"), false), "CLICOLOR_FORCE beats NO_COLOR and a pipe");
        assert!(!colour_wanted(None, some("0"), false), "CLICOLOR_FORCE=0 forces nothing");
        assert!(!colour_wanted(None, some(""), false), "nor does an empty one");
    }
}
