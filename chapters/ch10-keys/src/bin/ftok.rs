//! `ftok`: how a path and a small id become a System V key.
//!
//! `ftok(path, id)` never looks at the path's text: it `stat`s the file and packs a few bits of its
//! device number, a few of its inode number and the id into the 32 bits of a `key_t`. Programs that
//! name the same file and the same id get the same key, and so the same queue, segment or set.
//!
//! With a PATH this prints the keys and their bits, next to the layout the textbook states. Without
//! one it makes a temporary key file and tries each of the textbook's claims on it: same path and id,
//! another id, id 0, the file deleted, the file created again.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use ch10_keys::{create_keyfile, hex, show_stat};
use clap::Parser;
use shared::cleanup::TempDir;
use shared::key::{Key, ftok};
use shared::{CallContext, Result};

/// Show the key ftok(3) makes from a file and an id, bit by bit (textbook ch. 10 §10-2-1).
#[derive(Parser)]
#[command(
    after_help = "Examples:\n  ftok                    the tour on a temporary key file: layout, ids, delete, re-create\n  ftok /etc/passwd 1 2    the keys of /etc/passwd with ids 1 and 2\n  ftok . 65 321           id 321 counts as 65: ftok keeps only the low 8 bits of the id"
)]
struct Args {
    /// An existing file (any file you may stat). Without it, the tour runs on a temporary key file.
    path: Option<PathBuf>,
    /// Ids to combine with PATH (default: 1). Only the low 8 bits are used.
    #[arg(requires = "path")]
    ids: Vec<u32>,
}

fn main() -> std::process::ExitCode {
    shared::cli::run(|| {
        let args = Args::parse();
        match args.path {
            None => tour(),
            Some(path) => {
                show_stat(&path)?;
                let ids = if args.ids.is_empty() { vec![1] } else { args.ids };
                for id in ids {
                    explain(&path, id)?;
                }
                Ok(())
            }
        }
    })
}

// ANCHOR: explain
/// Print `ftok(path, id)` and the bits it is built from: Linux's layout and the textbook's.
fn explain(path: &Path, id: u32) -> Result<Key> {
    // ftok(3) takes an int but keeps only its low 8 bits: 256 is 0 again, 321 is 65.
    let low_id = (id & 0xff) as u8;
    let key = ftok(path, low_id)?;
    let meta = std::fs::metadata(path).call(format!("stat({})", path.display()))?;
    let (dev, ino) = (meta.dev(), meta.ino());
    println!("ftok({}, {id}) = {}", path.display(), hex(key));
    if id > 0xff {
        println!("  id {id} counts as {low_id}: only its low 8 bits are used");
    }

    // glibc (sysvipc/ftok.c): key = (id & 0xff) << 24 | (st_dev & 0xff) << 16 | (st_ino & 0xffff).
    // st_dev & 0xff is the low byte of the disk's minor number, often 0, and only 16 of the inode's
    // bits count: two different files can get the same key, which ftok does not promise against.
    let linux = (u32::from(low_id) << 24) | (((dev & 0xff) as u32) << 16) | (ino & 0xffff) as u32;
    let verdict = if linux == key.raw() as u32 {
        "the key ftok returned"
    } else {
        "NOT the key ftok returned: this C library packs keys differently"
    };
    println!(
        "  Linux    (8|8|16 bits):  id {:#04x} | st_dev {:#04x} | st_ino {:#06x} = {linux:#010x}, {verdict}",
        low_id,
        dev & 0xff,
        ino & 0xffff
    );

    // The textbook: "the first 12 bits hold st_dev, the next 12 st_ino, the last 8 the id". That is
    // no layout Linux uses (and Solaris's own ftok puts the id in the top 8 bits, then 12 bits of
    // the device's minor number, then 12 of the inode), so a key computed by hand from it is wrong.
    let textbook = (((dev & 0xfff) as u32) << 20) | (((ino & 0xfff) as u32) << 8) | u32::from(low_id);
    println!(
        "  textbook (12|12|8 bits): st_dev {:#05x} | st_ino {:#05x} | id {:#04x} = {textbook:#010x}, {}",
        dev & 0xfff,
        ino & 0xfff,
        low_id,
        if textbook == key.raw() as u32 { "the same (by chance)" } else { "not the key" }
    );
    Ok(key)
}
// ANCHOR_END: explain

// ANCHOR: tour
/// The textbook's claims about ftok, each tried on a key file made for the purpose.
fn tour() -> Result<()> {
    let dir = TempDir::new("ftok")?;
    let path = dir.path().join("keyfile");
    let file = create_keyfile(&path)?;
    println!("key file: {} (made for this tour, removed at the end)", path.display());
    let (_, old_ino) = show_stat(&path)?;
    println!();
    let key = explain(&path, 1)?;
    println!();

    // Same path and id, same key: this is how two unrelated programs find one object.
    let again = ftok(&path, 1)?;
    let same = if again == key { "the same key (same file, same id)" } else { "a different key?!" };
    println!("ftok(keyfile, 1) again = {}: {same}", hex(again));
    // Another id, another key: one key file can name several objects.
    println!(
        "ftok(keyfile, 2)       = {}: another id, another key (only the top byte differs)",
        hex(ftok(&path, 2)?)
    );
    // POSIX leaves id 0 unspecified. glibc just puts 0 in the top byte; were the file's 24 bits 0
    // too, the key would be 0, which is IPC_PRIVATE: "a new object nobody can find by key".
    println!(
        "ftok(keyfile, 0)       = {}: id 0 is unspecified by POSIX; do not use it",
        hex(ftok(&path, 0)?)
    );
    // The textbook allows ids 1 to 256, but ftok(3) keeps only id & 0xff: 256 is id 0 again.
    let id_256 = ftok(&path, (256_u32 & 0xff) as u8)?;
    println!("ftok(keyfile, 256)     = {}: only the low 8 bits count, so 256 is id 0 again", hex(id_256));
    println!();

    // The file is the key's only anchor: once it is gone, ftok has nothing to stat.
    file.unlink()?;
    match ftok(&path, 1) {
        Err(err) => println!("after unlink(keyfile): {err}"),
        Ok(key) => println!("after unlink(keyfile): ftok still gave {}?!", hex(key)),
    }

    // The textbook says a re-created file gets a new inode, so a new key. Whether the inode number
    // changes is up to the file system (ext4 often hands the freed number straight back), and only
    // its low 16 bits count: check rather than believe.
    let _file = create_keyfile(&path)?;
    let (_, new_ino) = show_stat(&path)?;
    let new_key = ftok(&path, 1)?;
    println!("re-created: st_ino {old_ino} -> {new_ino}, ftok(keyfile, 1) {} -> {}", hex(key), hex(new_key));
    let what_happened = if new_ino == old_ino {
        "the file system reused the inode number, so the key is the same"
    } else if new_key == key {
        "a new inode number, but with the same low 16 bits, so the key is the same"
    } else {
        "a new inode number, so a new key: an object made with the old key is not found"
    };
    println!("{what_happened}");
    Ok(())
}
// ANCHOR_END: tour
