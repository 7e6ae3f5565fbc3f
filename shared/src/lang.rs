//! The language a program speaks: English, or the Korean the source texts' programs print.
//!
//! The language comes from the locale as POSIX orders it — `LC_ALL`, then `LC_MESSAGES`, then
//! `LANG`, the first one set and non-empty wins — and `--lang ko|en` overrides all three. A locale
//! whose language code is `ko` (`ko`, `ko_KR`, `ko_KR.UTF-8`, `ko_KR.eucKR@...`) means Korean;
//! anything else, including none, `C` and `POSIX`, means English. (`LANGUAGE`, a GNU extension
//! that lists fallbacks, is not consulted: two languages need no fallback chain.)
//!
//! A program's messages are a `match` on [`Lang`] next to the code that prints them. Why no i18n
//! crate (fluent, rust-i18n, gettext): a program prints at most a dozen lines in two languages, and
//! a `match` keeps each Korean line beside its English one, checked by the compiler (a missing
//! translation is a non-exhaustive match, a wrong argument a type error), with nothing to load at
//! run time and nothing to learn before reading the program.
//!
//! ```
//! use clap::Parser;
//! use shared::lang::{Lang, LangArgs};
//!
//! #[derive(Parser)]
//! struct Cli {
//!     #[command(flatten)]
//!     lang: LangArgs,
//! }
//!
//! /// The program's lines, each in both languages.
//! fn got_pen(lang: Lang, pid: u32) -> String {
//!     match lang {
//!         Lang::En => format!("{pid}: got the pen"),
//!         Lang::Ko => format!("{pid}: 연필을 잡았다"),
//!     }
//! }
//!
//! let cli = Cli::parse_from(["pen_and_note", "--lang", "ko"]);
//! let lang = cli.lang.resolve(); // --lang, else LC_ALL / LC_MESSAGES / LANG
//! assert_eq!(got_pen(lang, 42), "42: 연필을 잡았다");
//! // A fixed line needs no function:
//! assert_eq!(lang.pick("done", "끝"), "끝");
//! ```
//!
//! For test authors: a test never depends on the grader's locale. Pin the language on every run
//! that prints text: pass `--lang en` or `--lang ko`, which beats any environment. A test of the
//! detection itself sets all three variables, so a grader's own `LC_ALL` cannot win:
//! `LC_ALL=""` and `LC_MESSAGES=""` (empty counts as unset) with `LANG=ko_KR.UTF-8`, or
//! `LC_ALL=ko_KR.UTF-8` alone.

use std::ffi::OsString;

/// The two languages a workbook program speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Lang {
    /// English (the default, and any locale that is not Korean).
    #[default]
    En,
    /// Korean, as the source texts print it.
    Ko,
}

/// The locale variables in POSIX precedence: the first set and non-empty one decides.
pub const LOCALE_VARS: [&str; 3] = ["LC_ALL", "LC_MESSAGES", "LANG"];

impl Lang {
    /// The language this process's environment asks for (see [`Lang::from_vars`]).
    pub fn from_env() -> Lang {
        Lang::from_vars(|name| std::env::var_os(name))
    }

    /// The language asked for by the locale variables that `get` returns: the first of
    /// [`LOCALE_VARS`] that is set and non-empty decides; none means English.
    pub fn from_vars(get: impl Fn(&str) -> Option<OsString>) -> Lang {
        LOCALE_VARS
            .iter()
            .filter_map(|name| get(name))
            .find(|value| !value.is_empty())
            .map_or(Lang::En, |value| Lang::from_locale(&value.to_string_lossy()))
    }

    /// The language of one locale name: Korean when its language code (before `_`, `.` or `@`)
    /// is `ko`. So `ko_KR.UTF-8` is Korean, while `kok_IN` (Konkani) and `C` are English.
    pub fn from_locale(locale: &str) -> Lang {
        let language = locale.split(['_', '.', '@']).next().unwrap_or("");
        if language.eq_ignore_ascii_case("ko") { Lang::Ko } else { Lang::En }
    }

    /// `en` or `ko` by language: for a line without arguments.
    pub fn pick<T>(self, en: T, ko: T) -> T {
        match self {
            Lang::En => en,
            Lang::Ko => ko,
        }
    }
}

/// `--lang ko|en`, for every program that speaks Korean: `#[command(flatten)]` it into the
/// program's arguments and call [`LangArgs::resolve`].
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LangArgs {
    /// Language of the messages [default: from LC_ALL, LC_MESSAGES or LANG; Korean if ko_*]
    #[arg(long, value_enum, value_name = "LANG")]
    pub lang: Option<Lang>,
}

impl LangArgs {
    /// `--lang` if given, else the language of the environment's locale.
    pub fn resolve(&self) -> Lang {
        self.lang.unwrap_or_else(Lang::from_env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// Detection from a fixed environment, never the test process's own.
    fn detect(vars: &[(&str, &str)]) -> Lang {
        Lang::from_vars(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| OsString::from(v)))
    }

    #[test]
    fn no_locale_is_english() {
        assert_eq!(detect(&[]), Lang::En);
    }

    #[test]
    fn lang_alone_decides_when_nothing_else_is_set() {
        assert_eq!(detect(&[("LANG", "ko_KR.UTF-8")]), Lang::Ko);
        assert_eq!(detect(&[("LANG", "en_US.UTF-8")]), Lang::En);
    }

    #[test]
    fn lc_messages_beats_lang() {
        assert_eq!(detect(&[("LC_MESSAGES", "ko_KR.UTF-8"), ("LANG", "en_US.UTF-8")]), Lang::Ko);
        assert_eq!(detect(&[("LC_MESSAGES", "C"), ("LANG", "ko_KR.UTF-8")]), Lang::En);
    }

    #[test]
    fn lc_all_beats_both() {
        let vars = [("LC_ALL", "ko_KR.UTF-8"), ("LC_MESSAGES", "en_US.UTF-8"), ("LANG", "C")];
        assert_eq!(detect(&vars), Lang::Ko);
        let vars = [("LC_ALL", "C.UTF-8"), ("LC_MESSAGES", "ko_KR.UTF-8"), ("LANG", "ko_KR.UTF-8")];
        assert_eq!(detect(&vars), Lang::En);
    }

    #[test]
    fn empty_counts_as_unset() {
        let vars = [("LC_ALL", ""), ("LC_MESSAGES", ""), ("LANG", "ko_KR.UTF-8")];
        assert_eq!(detect(&vars), Lang::Ko);
    }

    #[test]
    fn korean_is_the_language_code_ko() {
        for locale in ["ko", "ko_KR", "ko_KR.UTF-8", "ko_KR.eucKR", "ko.UTF-8", "ko_KR@euro", "KO_kr"] {
            assert_eq!(Lang::from_locale(locale), Lang::Ko, "{locale}");
        }
        for locale in ["", "C", "POSIX", "C.UTF-8", "en_US.UTF-8", "kok_IN", "korean"] {
            assert_eq!(Lang::from_locale(locale), Lang::En, "{locale}");
        }
    }

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        lang: LangArgs,
    }

    #[test]
    fn the_option_parses_both_languages_and_nothing_else() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).map(|cli| cli.lang.lang);
        assert_eq!(parse(&["prog", "--lang", "ko"]).unwrap(), Some(Lang::Ko));
        assert_eq!(parse(&["prog", "--lang", "en"]).unwrap(), Some(Lang::En));
        assert_eq!(parse(&["prog"]).unwrap(), None);
        assert!(parse(&["prog", "--lang", "fr"]).is_err());
    }

    #[test]
    fn the_option_overrides_the_environment() {
        // resolve() only reads the environment when --lang is absent.
        let args = LangArgs { lang: Some(Lang::En) };
        assert_eq!(args.resolve(), Lang::En);
        let args = LangArgs { lang: Some(Lang::Ko) };
        assert_eq!(args.resolve(), Lang::Ko);
    }

    #[test]
    fn pick_chooses_by_language() {
        assert_eq!(Lang::En.pick("done", "끝"), "done");
        assert_eq!(Lang::Ko.pick("done", "끝"), "끝");
    }
}
