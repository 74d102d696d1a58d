//! Prometheus text exposition of a [`NodeStatus`], with DCGM exporter's metric names and labels.
//!
//! Dashboards built for NVIDIA's `dcgm-exporter` keep working: the per-GPU series have its names, units
//! and the labels `gpu`, `UUID`, `modelName` and `Hostname`. Series DCGM has no name for start
//! with `phalanx_`.

use std::fmt::Write;

use phalanx_core::GpuHealth;

use super::wire::{GpuMetrics, GpuStatus, NodeStatus};

/// The agent's own counters, shown beside the GPU series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AgentStats {
    /// Reporting cycles done.
    pub cycles: u64,
    /// Reports the controller accepted.
    pub reports_sent: u64,
    /// Reports that failed to reach the controller.
    pub report_failures: u64,
    /// Whether the last report reached the controller; `None` without a controller.
    pub controller_up: Option<bool>,
}

type Getter = fn(&GpuMetrics) -> Option<f64>;

/// `(name, type, help, value)` of the per-GPU series read from [`GpuMetrics`].
const GPU_SERIES: &[(&str, &str, &str, Getter)] = &[
    ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %).", |m| {
        m.gpu_util_pct.map(f64::from)
    }),
    (
        "DCGM_FI_DEV_MEM_COPY_UTIL",
        "gauge",
        "Memory utilization (in %).",
        |m| m.mem_util_pct.map(f64::from),
    ),
    (
        "DCGM_FI_DEV_FB_USED",
        "gauge",
        "Framebuffer memory used (in MiB).",
        |m| Some(m.fb_used_mib as f64),
    ),
    (
        "DCGM_FI_DEV_FB_FREE",
        "gauge",
        "Framebuffer memory free (in MiB).",
        |m| Some(m.fb_free_mib as f64),
    ),
    ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C).", |m| {
        m.temperature_c.map(f64::from)
    }),
    ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W).", |m| {
        m.power_mw.map(|p| f64::from(p) / 1000.0)
    }),
    (
        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
        "counter",
        "Total energy consumption since boot (in mJ).",
        |m| m.energy_mj.map(|e| e as f64),
    ),
    (
        "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL",
        "counter",
        "Total number of single-bit volatile ECC errors.",
        |m| m.ecc_corrected.map(|e| e as f64),
    ),
    (
        "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL",
        "counter",
        "Total number of double-bit volatile ECC errors.",
        |m| m.ecc_uncorrected.map(|e| e as f64),
    ),
];

/// Renders `status` and the agent's counters in the Prometheus text format (version 0.0.4).
pub fn render_metrics(status: &NodeStatus, agent: &AgentStats) -> String {
    let mut out = String::with_capacity(512 + status.gpus.len() * 1024);
    let host = &status.node.name;
    let labels: Vec<String> = status.gpus.iter().map(|g| gpu_labels(g, host)).collect();

    for &(name, kind, help, get) in GPU_SERIES {
        header(&mut out, name, kind, help);
        for (g, l) in status.gpus.iter().zip(&labels) {
            if let Some(v) = g.metrics.as_ref().and_then(get) {
                let _ = writeln!(out, "{name}{{{l}}} {v}");
            }
        }
    }

    // DCGM's XID series is a gauge holding the last XID seen (0: none), per GPU.
    header(
        &mut out,
        "DCGM_FI_DEV_XID_ERRORS",
        "gauge",
        "Value of the last XID error encountered.",
    );
    for (g, l) in status.gpus.iter().zip(&labels) {
        let _ = writeln!(out, "DCGM_FI_DEV_XID_ERRORS{{{l}}} {}", g.last_xid.unwrap_or(0));
    }
    header(
        &mut out,
        "phalanx_gpu_xid_events_total",
        "counter",
        "Critical XID events since the agent started.",
    );
    for (g, l) in status.gpus.iter().zip(&labels) {
        let _ = writeln!(out, "phalanx_gpu_xid_events_total{{{l}}} {}", g.xid_events);
    }
    header(
        &mut out,
        "phalanx_gpu_healthy",
        "gauge",
        "1 if the GPU may be given to jobs, 0 if it failed.",
    );
    for (g, l) in status.gpus.iter().zip(&labels) {
        let v = u8::from(g.health == GpuHealth::Healthy);
        let _ = writeln!(out, "phalanx_gpu_healthy{{{l}}} {v}");
    }
    header(
        &mut out,
        "phalanx_gpu_present",
        "gauge",
        "1 if the driver lists the GPU and answers for it.",
    );
    for (g, l) in status.gpus.iter().zip(&labels) {
        let _ = writeln!(out, "phalanx_gpu_present{{{l}}} {}", u8::from(g.present));
    }

    let h = format!("Hostname=\"{}\"", escape(host));
    header(
        &mut out,
        "phalanx_agent_cycles_total",
        "counter",
        "Reporting cycles done.",
    );
    let _ = writeln!(out, "phalanx_agent_cycles_total{{{h}}} {}", agent.cycles);
    header(
        &mut out,
        "phalanx_agent_reports_sent_total",
        "counter",
        "Reports the controller accepted.",
    );
    let _ = writeln!(out, "phalanx_agent_reports_sent_total{{{h}}} {}", agent.reports_sent);
    header(
        &mut out,
        "phalanx_agent_report_failures_total",
        "counter",
        "Reports that did not reach the controller.",
    );
    let _ = writeln!(
        out,
        "phalanx_agent_report_failures_total{{{h}}} {}",
        agent.report_failures
    );
    if let Some(up) = agent.controller_up {
        header(
            &mut out,
            "phalanx_agent_controller_up",
            "gauge",
            "1 if the last report reached the controller.",
        );
        let _ = writeln!(out, "phalanx_agent_controller_up{{{h}}} {}", u8::from(up));
    }
    out
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn gpu_labels(g: &GpuStatus, host: &str) -> String {
    format!(
        "gpu=\"{}\",UUID=\"{}\",modelName=\"{}\",Hostname=\"{}\"",
        g.index,
        escape(&g.uuid),
        escape(&g.name),
        escape(host)
    )
}

/// Escapes a label value: backslash, double quote and newline.
fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
