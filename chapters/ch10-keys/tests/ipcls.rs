//! `ipcls`: the same rows as the system's `ipcs`, and with `--id` every field of IPC_STAT, refused
//! (EACCES) to a user the object's mode does not let read it.

use std::process::Command;

use shared::cleanup::Owned;
use shared::ipc::{IPC_CREAT, MsqId, SemId, ShmId};
use shared::{msg, sem, shm};
use testkit::{Cmd, TestKey, assert_transcript, is_root};

/// A queue (with one 14-byte message), a 100-byte segment and a 3-semaphore set, all with `key`'s
/// key, removed when dropped.
struct Objects {
    queue: Owned<MsqId>,
    segment: Owned<ShmId>,
    set: Owned<SemId>,
}

fn make_objects(key: &TestKey, mode: i32) -> Objects {
    let queue = Owned::new(msg::msgget(key.key(), IPC_CREAT | mode).unwrap());
    msg::msgsnd(queue.id(), 7, b"Hi! my parent\0", 0).unwrap();
    let segment = Owned::new(shm::shmget(key.key(), 100, IPC_CREAT | mode).unwrap());
    let set = Owned::new(sem::semget(key.key(), 3, IPC_CREAT | mode).unwrap());
    Objects { queue, segment, set }
}

fn me() -> String {
    shared::user::user_name(nix::unistd::geteuid().as_raw())
}

/// Ids, the test's key, users, pids and sequence numbers vary from run to run. Placeholders keep
/// the columns' widths, so the snapshots (which the book shows) stay aligned.
fn redactions(key: &TestKey) -> Vec<(String, String)> {
    [
        (format!("{:#010x}", key.key().raw() as u32).as_str(), "[TEST KEY]"),
        // A listing row: key, id, owner, then the numbers the test created.
        (r"(?m)^(\[TEST KEY\]) \d+ +\S+ +", "$1 [ID]       [USER]     "),
        (r"(message queue|shared memory segment|semaphore set) \d+:", "$1 [ID]:"),
        (r"(\.c?uid +=) \d+ +(owner|creator) \(\w+\)", "$1 [UID]      $2 ([USER])"),
        (r"(\.c?gid +=) \d+ +(owner's|creator's) group \(\w+\)", "$1 [GID]      $2 group ([GROUP])"),
        (r"--id \d+", "--id [ID]"),
        (
            r"(\.seq  =) \d+ +(.*): id \d+ = \d+ \* 32768 \+ slot \d+",
            "$1 [SEQ]      $2: id [ID] = [SEQ] * 32768 + slot [SLOT]",
        ),
        (r"(_(?:lspid|lrpid|cpid|lpid) +=) \d+ +", "$1 [PID]      "),
    ]
    .into_iter()
    .map(|(from, to)| (from.to_owned(), to.to_owned()))
    .collect()
}

fn redacted(out: &testkit::Output, rules: &[(String, String)]) -> String {
    let rules: Vec<(&str, &str)> = rules.iter().map(|(from, to)| (from.as_str(), to.as_str())).collect();
    out.redacted(&rules)
}

/// The row for `key` in a listing: its whitespace-separated fields.
fn row(listing: &str, section: &str, key: &TestKey) -> Vec<String> {
    let hex = format!("{:#010x}", key.key().raw() as u32);
    let in_section = listing.split("------ ").find(|part| part.starts_with(section)).expect(section);
    let line = in_section
        .lines()
        .find(|line| line.starts_with(&hex))
        .unwrap_or_else(|| panic!("{hex} in {listing}"));
    line.split_whitespace().map(str::to_owned).collect()
}

fn the_listing_shows_each_kind_with_its_own_columns() {
    let key = TestKey::new();
    let objects = make_objects(&key, 0o600);
    let out = Cmd::new("ipcls").args(["--key", &key.arg()]).run();
    out.assert_success();
    let user = me();
    let queue_id = objects.queue.id().to_string();
    let segment_id = objects.segment.id().to_string();
    let set_id = objects.set.id().to_string();
    let hex = format!("{:#010x}", key.key().raw() as u32);
    assert_eq!(row(&out.stdout, "Message Queues", &key), [&hex, &queue_id, &user, "600", "14", "1"]);
    assert_eq!(row(&out.stdout, "Shared Memory", &key), [&hex, &segment_id, &user, "600", "100", "0"]);
    assert_eq!(row(&out.stdout, "Semaphore Arrays", &key), [&hex, &set_id, &user, "600", "3"]);
    assert_transcript!("ipcls_key", redacted(&out, &redactions(&key)));

    let queues_only = Cmd::new("ipcls").args(["-q", "--key", &key.arg()]).run();
    queues_only.assert_success();
    assert!(queues_only.stdout.contains("Message Queues") && !queues_only.stdout.contains("Shared Memory"));
}

fn the_rows_match_the_systems_ipcs() {
    let key = TestKey::new();
    let _objects = make_objects(&key, 0o640);
    let Ok(ipcs) = Command::new("ipcs").output() else {
        testkit::skip("no `ipcs` on this system (util-linux) to compare with");
    };
    let ipcs = String::from_utf8_lossy(&ipcs.stdout).into_owned();
    let ours = Cmd::new("ipcls").args(["--key", &key.arg()]).run();
    ours.assert_success();
    for section in ["Message Queues", "Shared Memory", "Semaphore Arrays"] {
        // ipcs adds a `status` column to segments, empty here: the fields agree one for one.
        assert_eq!(row(&ours.stdout, section, &key), row(&ipcs, section, &key), "{section}");
    }
}

fn id_shows_the_whole_msqid_ds() {
    let key = TestKey::new();
    let objects = make_objects(&key, 0o600);
    let out = Cmd::new("ipcls").args(["-q", "--id", &objects.queue.id().to_string()]).run();
    out.assert_success();
    let me = std::process::id();
    for field in [
        format!("msg_perm.key  = {:#010x}", key.key().raw() as u32),
        "msg_perm.mode = 0600       permissions rw-------".to_owned(),
        "msg_qbytes = 16384".to_owned(),
        "msg_qnum   = 1 ".to_owned(),
        "msg_cbytes = 14 ".to_owned(),
        format!("msg_lspid  = {me} "),
        "msg_lrpid  = 0 ".to_owned(),
        "msg_rtime  = never".to_owned(),
    ] {
        assert!(out.stdout.contains(&field), "{field:?} in\n{}", out.stdout);
    }
    let qbytes = std::fs::read_to_string("/proc/sys/kernel/msgmnb").unwrap();
    assert!(
        out.stdout.contains(&format!("msg_qbytes = {:<10}", qbytes.trim())),
        "msg_qbytes starts at msgmnb"
    );
    let mut rules = redactions(&key);
    rules.push((r"msg_qbytes = \d+ +".into(), "msg_qbytes = [MSGMNB]     ".into()));
    assert_transcript!("ipcls_id_queue", redacted(&out, &rules));
}

fn id_finds_the_kind_itself_and_shows_shmid_ds_and_semid_ds() {
    let key = TestKey::new();
    let objects = make_objects(&key, 0o600);
    let segment = Cmd::new("ipcls").args(["-m", "--id", &objects.segment.id().to_string()]).run();
    segment.assert_success();
    assert!(segment.stdout.contains("shm_segsz  = 100 "));
    assert!(segment.stdout.contains(&format!("shm_cpid   = {} ", std::process::id())));
    assert_transcript!("ipcls_id_segment", redacted(&segment, &redactions(&key)));

    let set = Cmd::new("ipcls").args(["-s", "--id", &objects.set.id().to_string()]).run();
    set.assert_success();
    assert!(set.stdout.contains("sem_nsems  = 3 ") && set.stdout.contains("sem_otime  = never"));
    assert_transcript!("ipcls_id_set", redacted(&set, &redactions(&key)));
}

fn reading_another_users_object_is_eacces() {
    let key = TestKey::new();
    // As root, root's 0600 queue and the user nobody; otherwise our own queue with no read bit
    // (the owner is bound by the mode too, only root is not).
    let mode = if is_root() { 0o600 } else { 0o200 };
    let objects = make_objects(&key, mode);
    let id = objects.queue.id().to_string();
    Cmd::new("ipcls").args(["-q", "--id", &id]).unprivileged().run().assert_error(1, "IPC_STAT): EACCES");
    // The listing comes from /proc, which shows every object to everyone.
    let listing = Cmd::new("ipcls").args(["-q", "--key", &key.arg()]).unprivileged().run();
    listing.assert_success();
    assert!(listing.stdout.contains(&id));
}

fn bad_ids_are_one_line_errors() {
    Cmd::new("ipcls").args(["-q", "--id", "2147483647"]).run().assert_error(1, "IPC_STAT): EINVAL");
    Cmd::new("ipcls").args(["--id", "2147483647"]).run().assert_error(1, "no message queue");
    Cmd::new("ipcls").args(["--id", "many"]).run().assert_error(2, "invalid value 'many'");
    Cmd::new("ipcls").args(["--key", "0xfffffffff"]).run().assert_error(2, "is not a key");
}

/// `--keyfile PATH` filters by ftok(PATH, 1), as every program that takes a key accepts it.
fn keyfile_filters_by_the_key_ftok_makes() {
    let dir = testkit::ScratchDir::new();
    let path = dir.path().join("keyfile");
    std::fs::write(&path, b"").unwrap();
    let key = shared::key::ftok(&path, 1).unwrap();
    let queue = Owned::new(msg::msgget(key, IPC_CREAT | 0o600).unwrap());
    let other = TestKey::new();
    let _other_queue = Owned::new(msg::msgget(other.key(), IPC_CREAT | 0o600).unwrap());
    let out = Cmd::new("ipcls").args(["-q", "--keyfile", &path.display().to_string()]).run();
    out.assert_success();
    let rows: Vec<&str> = out.stdout.lines().filter(|line| line.starts_with("0x")).collect();
    assert_eq!(rows.len(), 1, "only the keyfile's queue:\n{}", out.stdout);
    assert!(rows[0].starts_with(&format!("{:#010x} {} ", key.raw() as u32, queue.id())), "{}", rows[0]);
    let missing = dir.path().join("missing");
    Cmd::new("ipcls").args(["--keyfile", &missing.display().to_string()]).run().assert_error(1, "ENOENT");
}

testkit::main!(
    the_listing_shows_each_kind_with_its_own_columns,
    the_rows_match_the_systems_ipcs,
    id_shows_the_whole_msqid_ds,
    id_finds_the_kind_itself_and_shows_shmid_ds_and_semid_ds,
    reading_another_users_object_is_eacces,
    bad_ids_are_one_line_errors,
    keyfile_filters_by_the_key_ftok_makes,
);
