//! The benchmark as a check: `/bin/bench` under `-icount shift=0` (its
//! figures are instruction counts / 16, identical run to run), each
//! figure at most its budget in `tests/data/bench.txt`. A change that
//! slows a measured path past its budget fails here.

use super::*;

/// The budgets of `tests/data/bench.txt`'s column `col` (0-based after
/// the name: 2 = ARMv7-A, 5 = AArch64), by benchmark name.
fn budgets(col: usize) -> Vec<(String, u64)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/bench.txt");
    let text = std::fs::read_to_string(&path).expect("tests/data/bench.txt");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 7, "bad line in bench.txt: {l}");
            (f[0].to_string(), f[1 + col].parse().expect("a budget"))
        })
        .collect()
}

/// Boot `/bin/bench` on `cpu` under -icount and check every figure
/// against the budget column `col`.
pub fn within_budget(cpu: &str, col: usize) {
    let b = files::boot_icount(cpu, "rdinit=/bin/bench", 300);
    b.expect("ok - every benchmarked syscall succeeded");
    b.expect_status(0);
    let mut over = Vec::new();
    for (name, budget) in budgets(col) {
        let line = b.line(&format!("bench {name}: "));
        let ticks: u64 = line
            .split_whitespace()
            .nth(2)
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("no figure in {line:?}\n{}", b.log));
        eprintln!("bench {name}: {ticks} ticks/op (budget {budget})");
        if ticks > budget {
            over.push(format!("{name}: {ticks} > {budget}"));
        }
    }
    assert!(over.is_empty(), "over budget: {over:?}\n{}", b.log);
}
