//! The host's name, CPUs and memory, from `/proc` (Linux).
//!
//! The parsers are pure and tested on literal samples; [`read_host`] does the reading.

use crate::sample::HostInfo;

/// Reads the host description; fields that cannot be read are left empty or zero.
pub fn read_host() -> HostInfo {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let (cpus, cpu_model) = parse_cpuinfo(&cpuinfo);
    let cpus = if cpus == 0 {
        std::thread::available_parallelism().map_or(0, |n| n.get() as u32)
    } else {
        cpus
    };
    let mut name = read("/proc/sys/kernel/hostname").trim().to_owned();
    if name.is_empty() {
        name = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".to_owned());
    }
    HostInfo {
        name,
        cpus,
        cpu_model,
        memory_mib: parse_meminfo_total_mib(&read("/proc/meminfo")),
    }
}

/// The number of `processor` entries and the first `model name` of `/proc/cpuinfo`.
pub fn parse_cpuinfo(text: &str) -> (u32, String) {
    let mut cpus = 0;
    let mut model = String::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key.trim() {
            "processor" => cpus += 1,
            "model name" if model.is_empty() => model = value.trim().to_owned(),
            _ => {}
        }
    }
    (cpus, model)
}

/// `MemTotal` of `/proc/meminfo`, in MiB (0 if absent).
pub fn parse_meminfo_total_mib(text: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse::<u64>().ok())
        .map_or(0, |kib| kib / 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpuinfo_and_meminfo_are_parsed() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7763 64-Core Processor\n\n\
                       processor\t: 1\nmodel name\t: AMD EPYC 7763 64-Core Processor\n";
        assert_eq!(
            parse_cpuinfo(cpuinfo),
            (2, "AMD EPYC 7763 64-Core Processor".to_owned())
        );
        assert_eq!(parse_cpuinfo(""), (0, String::new()));
        let meminfo = "MemTotal:       24610084 kB\nMemFree:         1234 kB\n";
        assert_eq!(parse_meminfo_total_mib(meminfo), 24033);
        assert_eq!(parse_meminfo_total_mib("garbage"), 0);
    }
}
