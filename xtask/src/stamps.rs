//! Modification times for the copies that selfcheck builds in one target directory.
//!
//! The copies (the student edition, each wrong answer) sit at the same relative paths, so cargo
//! gives them the same artifacts, and cargo rebuilds a file only when it is newer than its last
//! build. So a file whose text differs from what this target directory last saw at that path must
//! look new, and one with the same text must keep its old time (or every copy rebuilds everything):
//! a copied file's own time is wrong both ways (an older solution file after a newer wrong answer
//! would reuse the wrong answer's binary).

use std::collections::BTreeMap;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Path (relative to the copy) → (hash of its text, the time it was given), for one target directory.
pub struct Stamps {
    file: PathBuf,
    seen: BTreeMap<String, (u64, u64)>,
}

impl Stamps {
    /// The stamps of the copies built in `target_dir`, or none yet.
    pub fn open(target_dir: &Path) -> Stamps {
        let file = target_dir.join("xtask-stamps.json");
        let seen = std::fs::read_to_string(&file)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        Stamps { file, seen }
    }

    /// Give every file of `names` in `copy` its time: the last one if its text is what this target
    /// directory last saw at that path, else now. Then save the stamps.
    pub fn stamp(&mut self, copy: &Path, names: &[String]) -> Result<(), String> {
        let now =
            SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_nanos() as u64;
        for name in names {
            let path = copy.join(name);
            let Ok(text) = std::fs::read(&path) else { continue };
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            text.hash(&mut hasher);
            let hash = hasher.finish();
            let time = match self.seen.get(name) {
                Some(&(seen, time)) if seen == hash => time,
                _ => now,
            };
            self.seen.insert(name.clone(), (hash, time));
            let modified = SystemTime::UNIX_EPOCH + Duration::from_nanos(time);
            File::options()
                .write(true)
                .open(&path)
                .and_then(|file| file.set_modified(modified))
                .map_err(|err| format!("{}: {err}", path.display()))?;
        }
        std::fs::create_dir_all(self.file.parent().unwrap()).map_err(|err| err.to_string())?;
        std::fs::write(&self.file, serde_json::to_string(&self.seen).unwrap())
            .map_err(|err| format!("{}: {err}", self.file.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modified(path: &Path) -> SystemTime {
        path.metadata().unwrap().modified().unwrap()
    }

    #[test]
    fn the_same_text_keeps_its_time_and_a_changed_text_looks_new() {
        let dir = std::env::temp_dir().join(format!("xtask-stamps-{}", std::process::id()));
        let (copy, target) = (dir.join("copy"), dir.join("target"));
        std::fs::create_dir_all(&copy).unwrap();
        let names = vec!["a.rs".to_owned()];
        let file = copy.join("a.rs");

        std::fs::write(&file, "solution").unwrap();
        Stamps::open(&target).stamp(&copy, &names).unwrap();
        let first = modified(&file);

        std::fs::write(&file, "solution").unwrap(); // a new copy, same text: the old time
        Stamps::open(&target).stamp(&copy, &names).unwrap();
        assert_eq!(modified(&file), first);

        std::fs::write(&file, "wrong answer").unwrap();
        Stamps::open(&target).stamp(&copy, &names).unwrap();
        let wrong = modified(&file);
        assert!(wrong > first);

        // Back to the solution's text after the wrong answer was built: it must look newer still.
        std::fs::write(&file, "solution").unwrap();
        std::fs::File::options().write(true).open(&file).unwrap().set_modified(first).unwrap();
        Stamps::open(&target).stamp(&copy, &names).unwrap();
        assert!(modified(&file) > wrong);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
