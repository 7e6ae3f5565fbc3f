//! `ipcclean`: lists your objects, removes them only with `--yes`, never touches another user's,
//! and as root will not sweep every root-owned object without `--key` or `--all`.
//!
//! Other tests and graders may be running beside this one, as the same user: every run here is
//! limited with `--key` to the test's own key, except in a private IPC namespace of our own.

use std::process::Command;

use shared::cleanup::Owned;
use shared::ipc::{IPC_CREAT, MsqId, SemId, ShmId};
use shared::{msg, sem, shm};
use testkit::{Cmd, TestKey, assert_transcript, is_root};

/// A queue, a segment and a set with the test's key. Plain ids, not `Owned`: `ipcclean` removes
/// them, and an `Owned` dropped later could remove a stranger's object that reused the id.
fn make_objects(key: &TestKey) -> (MsqId, ShmId, SemId) {
    (
        msg::msgget(key.key(), IPC_CREAT | 0o600).unwrap(),
        shm::shmget(key.key(), 64, IPC_CREAT | 0o600).unwrap(),
        sem::semget(key.key(), 1, IPC_CREAT | 0o600).unwrap(),
    )
}

fn exists(ids: (MsqId, ShmId, SemId)) -> [bool; 3] {
    [msg::msgctl_stat(ids.0).is_ok(), shm::shmctl_stat(ids.1).is_ok(), sem::semctl_stat(ids.2).is_ok()]
}

fn redactions(key: &TestKey) -> Vec<(String, String)> {
    let user = shared::user::user_name(nix::unistd::geteuid().as_raw());
    vec![
        (format!("{:#010x}", key.key().raw() as u32), "[TEST KEY]".to_owned()),
        (format!(r"of {user} \(uid \d+\)"), "of [USER] (uid [UID])".to_owned()),
        (r"id \d+ +perms".to_owned(), "id [ID]       perms".to_owned()),
        (r"(?m)^removed (.*) \d+$".to_owned(), "removed $1 [ID]".to_owned()),
    ]
}

fn redacted(out: &testkit::Output, key: &TestKey) -> String {
    let rules = redactions(key);
    let rules: Vec<(&str, &str)> = rules.iter().map(|(from, to)| (from.as_str(), to.as_str())).collect();
    out.redacted(&rules)
}

fn lists_without_yes_and_removes_with_it() {
    let key = TestKey::new();
    let ids = make_objects(&key);

    let listed = Cmd::new("ipcclean").args(["--key", &key.arg()]).run();
    listed.assert_success();
    assert!(listed.stdout.contains("nothing removed: run again with --yes to remove these 3"));
    assert_eq!(exists(ids), [true; 3], "without --yes nothing is removed");
    assert_transcript!("ipcclean_list", redacted(&listed, &key));

    let removed = Cmd::new("ipcclean").args(["--key", &key.arg(), "--yes"]).run();
    removed.assert_success();
    assert_eq!(exists(ids), [false; 3], "--yes removes all three:\n{}", removed.stdout);
    for line in [
        format!("removed message queue {}", ids.0),
        format!("removed shared memory segment {}", ids.1),
        format!("removed semaphore set {}", ids.2),
    ] {
        assert!(removed.stdout.contains(&line), "{line:?} in\n{}", removed.stdout);
    }
    assert_transcript!("ipcclean_yes", redacted(&removed, &key));

    let again = Cmd::new("ipcclean").args(["--key", &key.arg(), "--yes"]).run();
    again.assert_success();
    assert!(again.stdout.contains("nothing to remove"));
}

fn another_users_objects_are_never_touched() {
    if !is_root() {
        testkit::skip("only root can make an object another user (nobody) does not own");
    }
    let key = TestKey::new();
    let queue = Owned::new(msg::msgget(key.key(), IPC_CREAT | 0o666).unwrap());
    // Even with permission to use it (0666), nobody does not own root's queue: it is not listed.
    let out = Cmd::new("ipcclean").args(["--key", &key.arg(), "--yes"]).unprivileged().run();
    out.assert_success();
    assert!(out.stdout.contains("no System V IPC objects of nobody"), "{}", out.stdout);
    assert!(msg::msgctl_stat(queue.id()).is_ok(), "root's queue is still there");
}

fn root_must_name_keys_or_say_all_tried_in_a_private_ipc_namespace() {
    // In an IPC namespace of its own, `--yes --all` can be run for real: the only objects it can
    // see there are the two this script makes with ipcmk.
    let script = r#"ipcmk -Q >/dev/null && ipcmk -S 2 >/dev/null || exit 99
"$0" --yes; echo "exit $?"
"$0" --yes --all; echo "exit $?"
"$0"; echo "exit $?""#;
    let mut unshare = Command::new("unshare");
    if !is_root() {
        unshare.args(["--user", "--map-root-user"]); // root inside a user namespace of our own
    }
    let out = unshare
        .args(["--ipc", "--", "sh", "-c", script])
        .arg(testkit::bin("ipcclean"))
        .env("NO_COLOR", "1")
        .output();
    let out = match out {
        Ok(out) if out.status.success() => out,
        Ok(out) => {
            testkit::skip(format!(
                "needs root or unprivileged user namespaces (unshare: {})",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Err(err) => {
            testkit::skip(format!("cannot run unshare(1): {err}"));
        }
    };
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // Each run's stdout, then the "exit N" line the script prints after it.
    let mut runs: Vec<(String, String)> = Vec::new();
    let mut text = String::new();
    for line in stdout.lines() {
        match line.strip_prefix("exit ") {
            Some(code) => runs.push((code.to_owned(), std::mem::take(&mut text))),
            None => text += &format!("{line}\n"),
        }
    }
    let [refused, all, after] = runs.as_slice() else { panic!("three runs expected: {stdout}") };
    assert_eq!(refused.0, "1", "refused without --key or --all: {stdout}");
    assert!(stderr.contains("ipcclean: refusing to remove every object root owns"), "{stderr}");
    assert!(!refused.1.contains("removed"), "{stdout}");
    assert_eq!(all.0, "0", "{stdout}");
    assert!(all.1.contains("removed message queue") && all.1.contains("removed semaphore set"), "{stdout}");
    assert!(after.1.contains("nothing to remove"), "{stdout}");
}

fn bad_keys_are_usage_errors() {
    Cmd::new("ipcclean").args(["--key", "seven"]).run().assert_error(2, "is not a key");
    Cmd::new("ipcclean").arg("--yess").run().assert_error(2, "unexpected argument");
}

/// `--keyfile PATH` names the key ftok(PATH, 1) makes, and only that key's objects go.
fn keyfile_removes_only_the_key_ftok_makes() {
    let dir = testkit::ScratchDir::new();
    let path = dir.path().join("keyfile");
    std::fs::write(&path, b"").unwrap();
    let key = shared::key::ftok(&path, 1).unwrap();
    let queue = msg::msgget(key, IPC_CREAT | 0o600).unwrap();
    let other = TestKey::new();
    let kept = Owned::new(msg::msgget(other.key(), IPC_CREAT | 0o600).unwrap());
    let out = Cmd::new("ipcclean").args(["--keyfile", &path.display().to_string(), "--yes"]).run();
    out.assert_success();
    assert!(out.stdout.contains(&format!("removed message queue {queue}")), "{}", out.stdout);
    assert!(msg::msgctl_stat(queue).is_err(), "the keyfile's queue is gone");
    assert!(msg::msgctl_stat(kept.id()).is_ok(), "another key's queue stays");
}

testkit::main!(
    lists_without_yes_and_removes_with_it,
    another_users_objects_are_never_touched,
    root_must_name_keys_or_say_all_tried_in_a_private_ipc_namespace,
    bad_keys_are_usage_errors,
    keyfile_removes_only_the_key_ftok_makes,
);
