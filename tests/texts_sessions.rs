//! Every row of the book's table "The texts' sessions" (`book/src/sessions.md`) runs as the
//! workbook row gives it, with the texts' own keys and arguments, and prints the shape of output
//! the text shows.
//!
//! Each row runs in a private IPC namespace, so `mkq 123` really uses key 123 and meets nothing
//! else on the machine; after each row the namespace must be empty. The expected lines are the
//! slides' own (verbatim, checked against the texts where they are here), compared with all
//! whitespace removed (the slides' extraction lost the spaces) and every number taken as any
//! number. A row this file does not know how to run fails, so no new row is silently ignored.

use std::path::{Path, PathBuf};

use regex::Regex;
use testkit::{Cmd, IpcNamespace, Output, ScratchDir, Signal};

/// One row of the table: the text's line and the workbook's commands.
struct Row {
    printed: String,
    /// The command to run, then the commands for another terminal.
    commands: Vec<String>,
}

fn rows() -> Vec<Row> {
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/sessions.md");
    let page = std::fs::read_to_string(&page).expect("book/src/sessions.md");
    let span = Regex::new("`([^`]*)`").unwrap();
    let table = page.lines().skip_while(|line| !line.starts_with("| Text |")).skip(2);
    let rows: Vec<Row> = table
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
            assert_eq!(cells.len(), 5, "a row of five cells expected: {line}");
            let spans = |cell: &str| span.captures_iter(cell).map(|c| c[1].to_owned()).collect::<Vec<_>>();
            let printed = spans(cells[2]).into_iter().next().unwrap_or_else(|| panic!("no quote: {line}"));
            let commands = spans(cells[3]);
            assert!(!commands.is_empty(), "no workbook command: {line}");
            Row { printed, commands }
        })
        .collect();
    assert!(rows.len() >= 13, "the table has {} rows: was it parsed?", rows.len());
    rows
}

/// A workbook command line: which binary, its arguments, and whether it runs in the background.
#[derive(Debug)]
struct Program {
    bin: String,
    args: Vec<String>,
    background: bool,
}

/// `cargo run -p CRATE [--bin NAME] [-- ARGS] [&]`, checked as cargo would: the crate is a chapter
/// crate and NAME one of its binaries (or its `default-run`). `None` if it is not a `cargo run`.
fn parse_cargo_run(command: &str) -> Option<Result<Program, String>> {
    let mut words: Vec<&str> = command.split_whitespace().collect();
    if words.len() < 2 || words[..2] != ["cargo", "run"] {
        return None;
    }
    let background = words.last() == Some(&"&");
    if background {
        words.pop();
    }
    let (mut krate, mut bin, mut args) = (None, None, Vec::new());
    let mut rest = words[2..].iter();
    while let Some(word) = rest.next() {
        match *word {
            "-p" => krate = rest.next().copied(),
            "--bin" => bin = rest.next().map(|b| b.to_string()),
            "--" => args = rest.by_ref().map(|a| a.to_string()).collect(),
            other => return Some(Err(format!("`{command}`: cargo option {other:?} not understood"))),
        }
    }
    let Some(krate) = krate else { return Some(Err(format!("`{command}`: no -p CRATE"))) };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("chapters").join(krate);
    let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
        return Some(Err(format!("`{command}`: no chapter crate {krate}")));
    };
    let bin = match bin {
        Some(bin) => bin,
        None => match manifest.lines().find_map(|l| l.strip_prefix("default-run = ")) {
            Some(name) => name.trim_matches('"').to_owned(),
            None => return Some(Err(format!("`{command}`: {krate} has no default-run"))),
        },
    };
    if !dir.join("src/bin").join(format!("{bin}.rs")).exists() {
        return Some(Err(format!("`{command}`: {krate} has no binary {bin}")));
    }
    Some(Ok(Program { bin, args, background }))
}

/// What became of one row.
enum Outcome {
    Passed,
    NotRun(String),
    Failed(String),
}

/// The expected lines, as printed, made patterns: whitespace removed, numbers any number.
fn shape(lines: &[&str]) -> Vec<Regex> {
    let number = Regex::new(r"\d+").unwrap();
    lines
        .iter()
        .map(|line| {
            let escaped = regex::escape(&squash(line));
            Regex::new(&number.replace_all(&escaped, r"\d+")).unwrap()
        })
        .collect()
}

fn squash(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The lines the slides print for each row's program (verbatim from the slides).
const MKQ: &[&str] = &["created queue id = 229377", "key is = 123", "opened queue id = 229377"];
const QSND_PID: &[&str] = &[
    "Enter message to post :",
    "10510 프로세스메시지큐읽기대기중..",
    "message posted",
    "recv = 14 bytes",
    "type = 10510",
    "수신프로세스 PID= 10510",
    "value = Hi! my parent",
];
const QCTL: &[&str] = &[
    "큐의최대바이트수 : 16384",
    "큐의유효사용자 UID : 502",
    "큐의유효사용자 GID : 502",
    "큐접근권한 : 0666",
    "메시지큐 163840 삭제됨",
];
const ECHOSERV: &[&str] = &["Server starting."];
const ECHO_TEXTS: &[&str] = &["aaaaaaaaaaaaaaaaaaaaaa", "bbbbb", "ccccccccccccccccccc"];
const BUSY: &[&str] = &["Error(count=9975) : 다른프로세스도동시에공유메모리접근함"];
const PEN_AND_NOTE: &[&str] = &[
    "[pid:18178] 연필을들고",
    "[pid:18178] 노트를들고",
    "[pid:18178] 공부를함",
    "[pid:18178] 연필을내려놓음",
    "[pid:18178] 노트를내려놓음",
];

/// Every pattern matches a line of `out`, in order (other lines may come between).
fn in_order(out: &Output, lines: &[&str]) -> Result<(), String> {
    let mut output = out.stdout.lines().map(squash);
    for (pattern, printed) in shape(lines).iter().zip(lines) {
        if !output.any(|line| pattern.is_match(&line)) {
            return Err(format!("no line shaped like {printed:?} (in order) in:\n{}", out.stdout));
        }
    }
    Ok(())
}

/// Every pattern matches some line of `out`, in any order.
fn each_somewhere(out: &Output, lines: &[&str]) -> Result<(), String> {
    for (pattern, printed) in shape(lines).iter().zip(lines) {
        if !out.stdout.lines().any(|line| pattern.is_match(&squash(line))) {
            return Err(format!("no line shaped like {printed:?} in:\n{}", out.stdout));
        }
    }
    Ok(())
}

fn succeeded(out: &Output) -> Result<(), String> {
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{}` {}\n--- stdout ---\n{}--- stderr ---\n{}",
            out.command, out.status, out.stdout, out.stderr
        ))
    }
}

/// The slides' runs are in Korean: run their rows in a Korean locale, as the book says.
fn korean(cmd: Cmd) -> Cmd {
    cmd.env("LC_ALL", "ko_KR.UTF-8").env("LANG", "ko_KR.UTF-8")
}

/// A system tool (`ipcs`) inside the namespace, or `None` if it is not installed.
fn system(namespace: &IpcNamespace, command: &str) -> Option<Result<String, String>> {
    let words: Vec<&str> = command.split_whitespace().collect();
    let out = namespace.command(words[0]).args(&words[1..]).output().ok()?;
    if !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("No such file") {
        return None;
    }
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Some(if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!("`{command}` {}: {}", out.status, String::from_utf8_lossy(&out.stderr)))
    })
}

fn run_row(row: &Row, namespace: &IpcNamespace) -> Result<Outcome, String> {
    let first = &row.commands[0];
    let program = match parse_cargo_run(first) {
        Some(program) => program?,
        None if first.split_whitespace().next() == Some("ipcs") => {
            // The row's alternative, the workbook's own `ipcls`, runs wherever `ipcs` is missing.
            for other in row.commands.iter().skip(1).filter_map(|c| parse_cargo_run(c)) {
                let other = other?;
                succeeded(&namespace.cmd(&other.bin).args(other.args).run())?;
            }
            return match system(namespace, first) {
                None => Ok(Outcome::NotRun("`ipcs` is not installed".into())),
                Some(result) => result.map(|_| Outcome::Passed),
            };
        }
        None => return Err(format!("`{first}`: not a command this test knows how to run")),
    };
    let cmd = namespace.cmd(&program.bin).args(program.args.iter().cloned());
    let scratch = ScratchDir::new();
    let cmd = cmd.env("TMPDIR", scratch.path()).current_dir(scratch.path());
    match (program.bin.as_str(), program.background) {
        ("shm_fork", false) => {
            let mut running = cmd.start();
            running.expect_line("pausing");
            let second = row.commands.get(1).ok_or("no second-terminal command")?;
            let listing = match system(namespace, second) {
                None => return Ok(Outcome::NotRun("`ipcs` is not installed".into())),
                Some(listing) => listing?,
            };
            if !listing.lines().any(|line| line.split_whitespace().nth(4) == Some("20")) {
                return Err(format!("`{second}` shows no 20-byte segment while shm_fork pauses:\n{listing}"));
            }
            succeeded(&running.finish())?;
        }
        ("listener", true) | ("talker", false) => {
            let (listener_cmd, talker_args) = if program.bin == "listener" {
                (cmd, vec!["PID".to_owned()])
            } else {
                (namespace.cmd("listener").current_dir(scratch.path()), program.args.clone())
            };
            let mut listener = listener_cmd.start();
            let waiting = listener.expect_line("Listener wait for Talker");
            let pid = waiting
                .split("pid ")
                .nth(1)
                .and_then(|rest| rest.split(',').next())
                .ok_or(waiting.clone())?;
            // The talker row's pid (4946) is the one the listener printed.
            let number = Regex::new(r"^\d+$").unwrap();
            let args: Vec<String> = talker_args
                .iter()
                .map(|a| if number.is_match(a) || a == "PID" { pid.to_owned() } else { a.clone() })
                .collect();
            let talker = namespace.cmd("talker").args(args).current_dir(scratch.path()).run();
            listener.expect_line("Listener Start ===");
            listener.expect_line("Listener received : Hello, I'm talker");
            succeeded(&listener.finish())?;
            succeeded(&talker)?;
            in_order(&talker, &["Listener said : have a nice day"])?;
        }
        ("ipcls", false) => succeeded(&cmd.run())?,
        ("semlock", false) => {
            let out = cmd.run();
            succeeded(&out)?;
            let lock = out.stdout.lines().filter(|l| l.starts_with("Lock : process")).count();
            if lock != 3 {
                return Err(format!("three `Lock : process N` lines expected:\n{}", out.stdout));
            }
            for second in row.commands.iter().skip(1).filter(|c| *c == "ipcs -s") {
                if let Some(Ok(listing)) = system(namespace, second) {
                    if listing.lines().any(|l| l.starts_with("0x")) {
                        return Err(format!("`{second}` shows a set after semlock:\n{listing}"));
                    }
                }
            }
        }
        ("mkq", false) => {
            let out = cmd.run();
            succeeded(&out)?;
            in_order(&out, MKQ)?;
            let key = format!("key is = {}", program.args.last().ok_or("mkq without a key")?);
            if !out.stdout.contains(&key) {
                return Err(format!("{key:?} expected (the key in decimal):\n{}", out.stdout));
            }
            // The queue stays, as the row says: `qctl KEY` removes it.
            succeeded(&namespace.cmd("qctl").args(program.args.iter().cloned()).run())?;
        }
        ("qsnd_pid", false) => {
            let typed = row.commands.get(1).ok_or("no text to type")?;
            let out = korean(cmd).stdin(format!("{typed}\n")).run();
            succeeded(&out)?;
            each_somewhere(&out, QSND_PID)?;
        }
        ("qctl", false) => {
            // The slides' session: `mkq 1234`, then `qctl 1234`.
            succeeded(&namespace.cmd("mkq").args(program.args.iter().cloned()).run())?;
            let out = korean(cmd).run();
            succeeded(&out)?;
            in_order(&out, QCTL)?;
        }
        ("msgq_echoserv", false) => {
            let port = program.args.last().ok_or("no port")?.clone();
            // The namespace is for IPC only: the slides' port is the machine's.
            let _turn = testkit::lock_udp_port(port.parse().map_err(|_| format!("port {port}"))?);
            if let Err(err) = std::net::UdpSocket::bind(format!("127.0.0.1:{port}")) {
                return Ok(Outcome::NotRun(format!("UDP port {port} is taken on this machine ({err})")));
            }
            let mut server = korean(cmd).start();
            server.expect_line("Server starting.");
            server.expect_line(&format!("listening on 127.0.0.1:{port}"));
            let second = row.commands.get(1).ok_or("no second-terminal command")?;
            let client = match parse_cargo_run(second) {
                Some(Ok(client)) => client,
                _ => return Err(format!("`{second}`: not a command this test knows how to run")),
            };
            let input: String = ECHO_TEXTS.iter().map(|t| format!("{t}\n")).collect();
            let echoed = namespace.cmd(&client.bin).args(client.args).stdin(input).run();
            for text in ECHO_TEXTS {
                server.expect_line(&format!(" {text}"));
            }
            server.signal(Signal::SIGTERM);
            let out = server.finish();
            succeeded(&out)?;
            succeeded(&echoed)?;
            in_order(&out, ECHOSERV)?;
            let reply = shape(&["reply process PID = 7228 aaaaaaaaaaaaaaaaaaaaaa"]).remove(0);
            let replies = out.stdout.lines().filter(|l| l.starts_with("reply process")).count();
            let shaped = out.stdout.lines().filter(|l| reply.is_match(&squash(l))).count();
            if replies != ECHO_TEXTS.len() || shaped != 1 {
                return Err(format!(
                    "one `reply process PID = N TEXT` line per request expected:\n{}",
                    out.stdout
                ));
            }
            in_order(&echoed, ECHO_TEXTS)?;
        }
        ("shmbusyaccess", false) => {
            let out = korean(cmd).run();
            succeeded(&out)?;
            in_order(&out, BUSY)?;
        }
        ("pen_and_note", false) => {
            let out = cmd.run();
            succeeded(&out)?;
            let steps = shape(PEN_AND_NOTE);
            let pid = Regex::new(r"^\[pid:(\d+)\]").unwrap();
            let mut pids: Vec<&str> = out
                .stdout
                .lines()
                .filter_map(|l| pid.captures(l))
                .map(|c| c.get(1).unwrap().as_str())
                .collect();
            pids.dedup();
            if pids.len() != 4 {
                return Err(format!("four processes, one after another, expected:\n{}", out.stdout));
            }
            for p in pids {
                let mine: Vec<String> =
                    out.stdout.lines().filter(|l| l.starts_with(&format!("[pid:{p}]"))).map(squash).collect();
                if mine.len() != 5 || !mine.iter().zip(&steps).all(|(line, step)| step.is_match(line)) {
                    return Err(format!("pid {p}: the slides' five steps expected:\n{}", out.stdout));
                }
            }
        }
        ("shmcontrol", false) => {
            let out = cmd.run();
            succeeded(&out)?;
            if out.stdout.contains("Error") || !out.stdout.lines().any(|l| l.starts_with("....")) {
                return Err(format!("a row of dots and no Error lines expected:\n{}", out.stdout));
            }
        }
        _ => {
            return Err(format!(
                "`{first}`: a row this test does not know how to run (printed `{}`)",
                row.printed
            ));
        }
    }
    let left = namespace.objects();
    if !left.is_empty() {
        return Err(format!("left in the namespace: {left:?}"));
    }
    Ok(Outcome::Passed)
}

/// Every row, each in a namespace of its own; a summary of every row, then the verdict.
fn every_row_runs_as_the_book_gives_it() {
    let rows = rows();
    let mut report = Vec::new();
    let (mut failed, mut not_run) = (0, Vec::new());
    for row in &rows {
        let outcome = match IpcNamespace::new() {
            None => Outcome::NotRun(testkit::NO_NAMESPACE.to_owned()),
            Some(namespace) => {
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_row(row, &namespace))) {
                    Ok(Ok(outcome)) => outcome,
                    Ok(Err(why)) => Outcome::Failed(why),
                    Err(panic) => Outcome::Failed(
                        panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_else(|| "panicked".into()),
                    ),
                }
            }
        };
        let line = match outcome {
            Outcome::Passed => format!("ok       {}", row.commands[0]),
            Outcome::NotRun(why) => {
                not_run.push(why.clone());
                format!("NOT RUN  {} ({why})", row.commands[0])
            }
            Outcome::Failed(why) => {
                failed += 1;
                format!("FAILED   {} (printed `{}`):\n{why}", row.commands[0], row.printed)
            }
        };
        report.push(line);
    }
    eprintln!("{}", report.join("\n"));
    assert_eq!(failed, 0, "{failed} row(s) failed:\n{}", report.join("\n"));
    if !not_run.is_empty() {
        let count = not_run.len();
        not_run.sort();
        not_run.dedup();
        testkit::skip(format!("{count} of {} rows not run: {}", rows.len(), not_run.join("; ")));
    }
}

/// The expected lines above are the slides' own: each occurs in the texts (whitespace removed).
fn the_expected_lines_are_the_slides() {
    let dir = PathBuf::from(env!("IPC_WORKBOOK_SEEDS_DIR"));
    let Ok(entries) = std::fs::read_dir(&dir) else {
        testkit::skip(format!("the texts are not in {}", dir.display()))
    };
    let texts: String = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|ext| ext == "txt"))
        .map(|e| squash(&std::fs::read_to_string(e.path()).unwrap()))
        .collect();
    let all = [MKQ, QSND_PID, QCTL, ECHOSERV, ECHO_TEXTS, BUSY, PEN_AND_NOTE];
    for line in all.iter().flat_map(|lines| lines.iter()) {
        assert!(texts.contains(&squash(line)), "{line:?} is not in the texts");
    }
}

testkit::main!(every_row_runs_as_the_book_gives_it, the_expected_lines_are_the_slides);
