//! Macro benchmark: the agent's own CPU time per reporting cycle, measured on the built binary.
//!
//! For each backend (an eight-GPU fake node, the eight-GPU stub NVML library without a configuration
//! file, so that the stub sleeps through event waits as the driver does instead of polling a file) it runs
//! `phalanx-agent run` twice against a test controller on 127.0.0.1, with metrics served, at a 10 ms
//! interval — the work of a cycle does not depend on the interval, only the idle time between cycles
//! does — once for a few cycles and once for many, and reads the children's CPU time (user + system,
//! every thread) from `getrusage`. The difference divided by the extra cycles is the cost of one cycle,
//! without start-up; at a 5 s interval the agent then uses `per cycle / 5 s` of one core.
//!
//! `AGENT_COST_REAL=1` also runs each backend for 12 cycles at the real 5 s interval (two minutes).
//!
//! On a GPU host, `AGENT_COST_NVML=1` measures the real driver's NVML library (`libnvidia-ml.so.1`) instead
//! of the stub, so no C compiler is needed; `PHALANX_AGENT_BIN` names the agent binary when the bench runs
//! away from the tree it was built in.
// getrusage(2) is the one libc call here, to read the children's CPU time with microsecond precision.
#![allow(unsafe_code)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "../tests/it/support.rs"]
mod support;

/// Children's user + system CPU time so far.
fn children_cpu() -> Duration {
    // SAFETY: `getrusage` writes one `rusage` into the zeroed value we own, and reads nothing else.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Runs the agent for `cycles` cycles at `interval`; returns (CPU time, wall time).
fn run(backend: &[&std::ffi::OsStr], cycles: u64, interval: &str, controller: &str) -> (Duration, Duration) {
    let before = children_cpu();
    let start = Instant::now();
    let bin = std::env::var_os("PHALANX_AGENT_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_phalanx-agent").into());
    let out = Command::new(bin)
        .args([
            "run",
            "--interval",
            interval,
            "--metrics",
            "127.0.0.1:0",
            "--controller",
            controller,
        ])
        .args(["--cycles", &cycles.to_string()])
        .args(backend)
        .output()
        .expect("run phalanx-agent");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (children_cpu() - before, start.elapsed())
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then just check that it runs.
    let quick = !std::env::args().any(|a| a == "--bench");
    let (few, many) = if quick { (2, 4) } else { (20, 520) };

    let fake = support::fake_file(&support::fake_json(""));
    let real = std::env::var_os("AGENT_COST_NVML").is_some();
    // The stub is compiled only when it is measured (it needs a C compiler).
    let stub = (!real).then(support::StubNode::bare);
    let nvml: (&str, Vec<&std::ffi::OsStr>) = match &stub {
        Some(stub) => (
            "stub NVML, 8 GPUs",
            vec!["--nvml-lib".as_ref(), Path::new(stub.lib()).as_os_str()],
        ),
        None => (
            "this host's NVML",
            vec!["--nvml-lib".as_ref(), "libnvidia-ml.so.1".as_ref()],
        ),
    };
    let backends = [("fake, 8 GPUs", vec!["--fake".as_ref(), fake.as_os_str()]), nvml];
    let ctrl = support::TestController::start();

    println!("| backend | cycles | CPU per cycle | start-up CPU | share of one core at a 5 s interval |");
    println!("|---|---|---|---|---|");
    for (name, args) in &backends {
        let (cpu_few, _) = run(args, few, "10ms", &ctrl.url());
        let (cpu_many, _) = run(args, many, "10ms", &ctrl.url());
        let per_cycle = cpu_many.saturating_sub(cpu_few) / (many - few) as u32;
        let startup = cpu_few.saturating_sub(per_cycle * few as u32);
        let share = per_cycle.as_secs_f64() / 5.0 * 100.0;
        println!(
            "| {name} | {few} and {many} | {:.1} µs | {:.2} ms | {share:.4} % |",
            per_cycle.as_secs_f64() * 1e6,
            startup.as_secs_f64() * 1e3
        );
    }
    let posts = ctrl.received().len();
    assert!(
        posts as u64 >= 2 * (few + many),
        "every cycle reached the controller ({posts} reports)"
    );

    if std::env::var_os("AGENT_COST_REAL").is_some() && !quick {
        println!();
        println!("| backend | cycles at 5 s | wall | CPU | share of one core |");
        println!("|---|---|---|---|---|");
        for (name, args) in &backends {
            let (cpu, wall) = run(args, 12, "5s", &ctrl.url());
            let share = cpu.as_secs_f64() / wall.as_secs_f64() * 100.0;
            println!(
                "| {name} | 12 | {:.1} s | {:.1} ms | {share:.4} % |",
                wall.as_secs_f64(),
                cpu.as_secs_f64() * 1e3
            );
        }
    }
}
