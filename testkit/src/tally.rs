//! The race demos' tallies (`shmbusyaccess`, `shmcontrol`): one `[pid:N] accesses=A, errors=E`
//! line per racing process, then a `total: ` line of the same form.

/// `(accesses, errors)` of each racer's line, then of the total line. Panics, naming the line, if a
/// tally is malformed or the total is missing.
pub fn tallies(stdout: &str) -> (Vec<(u64, u64)>, (u64, u64)) {
    let numbers = |line: &str| {
        let value = |name: &str| -> u64 {
            let rest = line.split(name).nth(1).unwrap_or_else(|| panic!("no {name} in {line:?}"));
            rest.split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
        };
        (value("accesses="), value("errors="))
    };
    let racers =
        stdout.lines().filter(|l| l.starts_with("[pid:") && l.contains("accesses=")).map(numbers).collect();
    let total = stdout.lines().find(|l| l.starts_with("total: ")).map(numbers).expect("a total line");
    (racers, total)
}

#[cfg(test)]
mod tests {
    #[test]
    fn racers_and_total_are_read() {
        let out =
            "[pid:7] accesses=10, errors=2\n[pid:8] accesses=5, errors=0\ntotal: accesses=15, errors=2\n";
        assert_eq!(super::tallies(out), (vec![(10, 2), (5, 0)], (15, 2)));
    }
}
