//! Output: PID-tagged lines, one colour per process on a terminal, plain text everywhere else.
//!
//! When several processes print to one terminal, a `[pid:N]` tag says who said what; colour makes
//! it visible at a glance. Colour is used only when standard output is a terminal and `NO_COLOR` is
//! not set (<https://no-color.org>), so pipes, files and the tests always see plain text.

use std::io::IsTerminal;

use colored::{Color, Colorize};

pub use crate::time::format_time;
pub use crate::user::{group_name, user_name};

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
