//! The human-readable inventory (`phalanx-agent inventory` without `--json`).

use std::fmt::Write;

use phalanx_core::GpuHealth;

use super::wire::{GpuStatus, NodeStatus};

/// A short table of the node and its GPUs.
pub fn render_inventory(status: &NodeStatus) -> String {
    let mut out = String::new();
    let n = &status.node;
    let _ = writeln!(out, "node    {}", n.name);
    let cpu_model = if status.cpu_model.is_empty() {
        String::new()
    } else {
        format!(" ({})", status.cpu_model)
    };
    let _ = writeln!(out, "cpus    {}{cpu_model}", n.cpu_milli / 1000);
    let _ = writeln!(out, "memory  {} MiB", n.memory_mib);
    let driver = status.driver_version.as_deref().unwrap_or("unknown");
    let _ = writeln!(out, "driver  {driver} (backend {})", status.backend.as_str());
    let _ = writeln!(out, "gpus    {}", status.gpus.len());
    if status.gpus.is_empty() {
        return out;
    }

    let header = [
        "GPU", "UUID", "NAME", "MODEL", "MEMORY", "NUMA", "NVLINK", "MIG", "HEALTH",
    ];
    let rows: Vec<[String; 9]> = status.gpus.iter().map(row).collect();
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let mut line = |cells: &[&str]| {
        let mut l = String::new();
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                let _ = write!(l, "{c:w$}  ");
            }
        }
        let _ = writeln!(out, "{}", l.trim_end());
    };
    line(&header);
    for r in &rows {
        line(&r.each_ref().map(String::as_str));
    }
    out
}

fn row(g: &GpuStatus) -> [String; 9] {
    let nvlink = if g.nvlinks == 0 {
        "-".to_owned()
    } else {
        let via = if g.nvswitch { " via switch" } else { "" };
        format!("{} links{via} to {}", g.nvlinks, ranges(&g.nvlink_peers))
    };
    let mig = match &g.mig {
        None => "-".to_owned(),
        Some(m) if m.enabled => format!("on, {} instances", m.instances.len()),
        Some(m) if m.pending => "off (on after reset)".to_owned(),
        Some(_) => "off".to_owned(),
    };
    let health = match (g.health, &g.health_reason) {
        (GpuHealth::Healthy, _) => "healthy".to_owned(),
        (GpuHealth::Unhealthy, Some(r)) => format!("UNHEALTHY: {r}"),
        (GpuHealth::Unhealthy, None) => "UNHEALTHY".to_owned(),
    };
    [
        g.index.to_string(),
        g.uuid.clone(),
        if g.name.is_empty() {
            "?".to_owned()
        } else {
            g.name.clone()
        },
        g.model.to_string(),
        format!("{} MiB", g.memory_mib),
        g.numa_node.map_or_else(|| "-".to_owned(), |n| n.to_string()),
        nvlink,
        mig,
        health,
    ]
}

/// `0-3,5` for `[0, 1, 2, 3, 5]`; `none` for an empty list.
fn ranges(xs: &[u32]) -> String {
    if xs.is_empty() {
        return "none".to_owned();
    }
    let mut parts = Vec::new();
    let mut start = xs[0];
    let mut prev = xs[0];
    for &x in &xs[1..] {
        if x == prev + 1 {
            prev = x;
            continue;
        }
        parts.push(span(start, prev));
        start = x;
        prev = x;
    }
    parts.push(span(start, prev));
    parts.join(",")
}

fn span(a: u32, b: u32) -> String {
    if a == b {
        a.to_string()
    } else {
        format!("{a}-{b}")
    }
}

#[cfg(test)]
mod tests {
    use super::ranges;

    #[test]
    fn peer_lists_are_compressed_to_ranges() {
        assert_eq!(ranges(&[]), "none");
        assert_eq!(ranges(&[3]), "3");
        assert_eq!(ranges(&[0, 1, 2, 3, 5, 7, 8]), "0-3,5,7-8");
    }
}
