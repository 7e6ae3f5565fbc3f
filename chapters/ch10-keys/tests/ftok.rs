//! `ftok`: the key is the id, the device and the inode packed as glibc packs them, the same path
//! and id always give the same key, and the tour reports the delete/re-create outcome truthfully.

use std::os::unix::fs::MetadataExt;

use regex::Regex;
use shared::key::ftok;
use testkit::{Cmd, ScratchDir, assert_transcript};

/// What differs between machines and runs in ftok's output: paths, device and inode numbers, keys.
const REDACTIONS: &[(&str, &str)] = &[
    (r"(?:/[\w.-]+)*/ftok\.\w{6}", "[TMPDIR]"),
    (r"st_dev = 0x[0-9a-f]+ \(\d+\)", "st_dev = [DEV]"),
    (r"st_ino = 0x[0-9a-f]+ \(\d+\)", "st_ino = [INO]"),
    (r"st_dev 0x[0-9a-f]+", "st_dev [DEV]"),
    (r"st_ino 0x[0-9a-f]+", "st_ino [INO]"),
    (r"st_ino \d+ -> \d+", "st_ino [INO] -> [INO]"),
    (r"0x[0-9a-f]{8}", "[KEY]"),
    // Whether the file system hands back the same inode number varies; the test checks the claim.
    (r"(?m)^(the file system reused|a new inode number).*$", "[WHAT HAPPENED ON THIS FILE SYSTEM]"),
];

/// The hex keys printed on lines that start with `prefix`, in order.
fn keys_after(stdout: &str, prefix: &str) -> Vec<u32> {
    let key = Regex::new(r"= 0x([0-9a-f]{8})").unwrap();
    stdout
        .lines()
        .filter(|line| line.starts_with(prefix))
        .map(|line| u32::from_str_radix(&key.captures(line).expect("a key on the line")[1], 16).unwrap())
        .collect()
}

#[test]
fn keys_are_id_device_and_inode_packed_as_glibc_does() {
    let dir = ScratchDir::new();
    let path = dir.path().join("keyfile");
    std::fs::write(&path, b"").unwrap();
    let shown = path.display().to_string();
    let out = Cmd::new("ftok").args([shown.as_str(), "1", "2", "0", "321"]).run();
    out.assert_success();

    let meta = std::fs::metadata(&path).unwrap();
    let printed = keys_after(&out.stdout, &format!("ftok({shown}, "));
    for (&id, printed) in [1u32, 2, 0, 321].iter().zip(&printed) {
        let low_id = (id & 0xff) as u8;
        let by_hand =
            (u32::from(low_id) << 24) | (((meta.dev() & 0xff) as u32) << 16) | (meta.ino() & 0xffff) as u32;
        assert_eq!(
            *printed, by_hand,
            "id {id}: (id & 0xff) << 24 | (st_dev & 0xff) << 16 | (st_ino & 0xffff)"
        );
        assert_eq!(*printed, ftok(&path, low_id).unwrap().raw() as u32, "id {id}: what libc's ftok returns");
    }
    assert_eq!(printed.len(), 4);
    assert_eq!(printed[3], printed[0] + (64 << 24), "321 counts as 65: only the id's low 8 bits are used");
    assert_eq!(out.stdout.matches("the key ftok returned").count(), 4, "the Linux layout explains every key");
    assert_eq!(out.stdout.matches("not the key").count(), 4, "the textbook's 12|12|8 layout explains none");
    assert!(out.stdout.contains("id 321 counts as 65"));
}

#[test]
fn the_tour_tries_each_claim_of_the_textbook() {
    let out = Cmd::new("ftok").run();
    out.assert_success();
    let stdout = &out.stdout;

    let first = keys_after(stdout, "ftok(keyfile, 1) again")[0];
    assert!(stdout.contains("the same key (same file, same id)"));
    let other_id = keys_after(stdout, "ftok(keyfile, 2)")[0];
    assert_eq!(other_id, (first & 0x00ff_ffff) | (2 << 24), "another id changes only the top byte");
    assert_eq!(keys_after(stdout, "ftok(keyfile, 0)")[0], first & 0x00ff_ffff);
    assert_eq!(keys_after(stdout, "ftok(keyfile, 256)")[0], first & 0x00ff_ffff, "256 is id 0 again");
    assert!(
        stdout.contains("after unlink(keyfile): ftok(")
            && stdout.contains("ENOENT (No such file or directory)")
    );

    // The verdict after re-creating the file must match the numbers printed beside it.
    let recreated = Regex::new(r"st_ino (\d+) -> (\d+), ftok\(keyfile, 1\) 0x([0-9a-f]+) -> 0x([0-9a-f]+)")
        .unwrap()
        .captures(stdout)
        .expect("the re-created line");
    let (old_ino, new_ino): (u64, u64) = (recreated[1].parse().unwrap(), recreated[2].parse().unwrap());
    let (old_key, new_key) = (&recreated[3], &recreated[4]);
    assert_eq!(old_key, format!("{first:08x}"));
    if old_ino & 0xffff == new_ino & 0xffff {
        assert_eq!(old_key, new_key, "same low 16 inode bits on the same disk: same key");
        let expected = if old_ino == new_ino { "reused the inode number" } else { "same low 16 bits" };
        assert!(stdout.contains(expected), "{stdout}");
    } else {
        assert_ne!(old_key, new_key);
        assert!(stdout.contains("a new inode number, so a new key"), "{stdout}");
    }
    assert!(!stdout.contains("?!"), "no surprise may be reported: {stdout}");
    assert_transcript!("ftok_tour", out.redacted(REDACTIONS));
}

#[test]
fn the_tour_leaves_no_key_file_behind() {
    let out = Cmd::new("ftok").run();
    out.assert_success();
    let dir = Regex::new(r"key file: (\S+)/keyfile").unwrap().captures(&out.stdout).unwrap()[1].to_owned();
    assert!(!std::path::Path::new(&dir).exists(), "{dir} should be gone");
}

#[test]
fn a_missing_file_is_enoent_and_a_bad_id_a_usage_error() {
    Cmd::new("ftok").args(["/no/such/file", "1"]).run().assert_error(1, "stat(/no/such/file): ENOENT");
    Cmd::new("ftok").args(["/", "one"]).run().assert_error(2, "invalid value 'one'");
    Cmd::new("ftok").args(["/", "-1"]).run().assert_error(2, "unexpected argument");
}
