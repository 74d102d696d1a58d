//! NVML product names to Phalanx GPU models.
//!
//! Phalanx names a model by what a job may ask for: devices of one model are interchangeable. The names
//! follow the ones already in the traces Phalanx replays (`V100M32`, `V100M16`, `P100`, `T4`, `A10`) and the
//! core's examples (`A100-80G`). The table, first match wins:
//!
//! | NVML name has the word | and                   | Phalanx model     |
//! |------------------------|-----------------------|-------------------|
//! | `V100S`                |                       | `nvidia/V100S`    |
//! | `V100`                 | memory ≥ 24 GiB       | `nvidia/V100M32`  |
//! | `V100`                 |                       | `nvidia/V100M16`  |
//! | `P100`                 |                       | `nvidia/P100`     |
//! | `P40`                  |                       | `nvidia/P40`      |
//! | `T4`                   |                       | `nvidia/T4`       |
//! | `A100`                 | memory ≥ 60 GiB       | `nvidia/A100-80G` |
//! | `A100`                 |                       | `nvidia/A100`     |
//! | `A10G`                 |                       | `nvidia/A10G`     |
//! | `A10`                  |                       | `nvidia/A10`      |
//! | `A30`                  |                       | `nvidia/A30`      |
//! | `A40`                  |                       | `nvidia/A40`      |
//! | `L4`                   |                       | `nvidia/L4`       |
//! | `L40S`                 |                       | `nvidia/L40S`     |
//! | `L40`                  |                       | `nvidia/L40`      |
//! | `H100`                 | the word `PCIe`       | `nvidia/H100-PCIe`|
//! | `H100`                 | the word `NVL`        | `nvidia/H100-NVL` |
//! | `H100`                 |                       | `nvidia/H100`     |
//! | `GH200`                |                       | `nvidia/GH200`    |
//! | `H200`                 | the word `NVL`        | `nvidia/H200-NVL` |
//! | `H200`                 |                       | `nvidia/H200`     |
//! | `B200`                 |                       | `nvidia/B200`     |
//!
//! Words are the name's parts between spaces and `-`, compared without case. Any other name maps to
//! `nvidia/` followed by the name without a leading `NVIDIA` or `Tesla`, with spaces and the characters a
//! model may not hold (`/`, `|`, `,`) replaced by `-`: `NVIDIA GeForce RTX 4090` → `nvidia/GeForce-RTX-4090`.

use phalanx_core::GpuModel;

/// When a rule applies, beyond the chip's word being in the name.
#[derive(Clone, Copy, Debug)]
enum When {
    Always,
    Word(&'static str),
    MemoryAtLeastGib(u64),
}

/// `(chip word, condition, Phalanx model name)`, first match wins.
const RULES: &[(&str, When, &str)] = &[
    ("V100S", When::Always, "V100S"),
    ("V100", When::MemoryAtLeastGib(24), "V100M32"),
    ("V100", When::Always, "V100M16"),
    ("P100", When::Always, "P100"),
    ("P40", When::Always, "P40"),
    ("T4", When::Always, "T4"),
    ("A100", When::MemoryAtLeastGib(60), "A100-80G"),
    ("A100", When::Always, "A100"),
    ("A10G", When::Always, "A10G"),
    ("A10", When::Always, "A10"),
    ("A30", When::Always, "A30"),
    ("A40", When::Always, "A40"),
    ("L4", When::Always, "L4"),
    ("L40S", When::Always, "L40S"),
    ("L40", When::Always, "L40"),
    ("H100", When::Word("PCIe"), "H100-PCIe"),
    ("H100", When::Word("NVL"), "H100-NVL"),
    ("H100", When::Always, "H100"),
    ("GH200", When::Always, "GH200"),
    ("H200", When::Word("NVL"), "H200-NVL"),
    ("H200", When::Always, "H200"),
    ("B200", When::Always, "B200"),
];

/// The Phalanx model of a device with NVML product name `name` and `memory_mib` of memory.
pub fn model_for(name: &str, memory_mib: u64) -> GpuModel {
    let words: Vec<&str> = name.split([' ', '-']).filter(|w| !w.is_empty()).collect();
    let has = |w: &str| words.iter().any(|x| x.eq_ignore_ascii_case(w));
    for &(chip, when, model) in RULES {
        if !has(chip) {
            continue;
        }
        let applies = match when {
            When::Always => true,
            When::Word(w) => has(w),
            When::MemoryAtLeastGib(gib) => memory_mib >= gib * 1024,
        };
        if applies {
            return nvidia(model);
        }
    }
    nvidia(&sanitize(name))
}

/// `nvidia/<name>`; `name` is already free of the characters a model may not hold.
fn nvidia(name: &str) -> GpuModel {
    GpuModel::new(&format!("nvidia/{name}")).unwrap_or_else(|_| unknown())
}

/// The model of a device whose name could not be read.
pub fn unknown() -> GpuModel {
    GpuModel::new("nvidia/unknown").expect("a valid literal model")
}

fn sanitize(name: &str) -> String {
    let trimmed = name.trim();
    let rest = ["NVIDIA ", "Tesla "]
        .iter()
        .find_map(|p| trimmed.strip_prefix(p))
        .unwrap_or(trimmed)
        .trim();
    let mut out = String::with_capacity(rest.len());
    for c in rest.chars() {
        let bad = c.is_whitespace() || matches!(c, '/' | '|' | ',');
        let c = if bad { '-' } else { c };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    let out = out.trim_matches('-').to_owned();
    if out.is_empty() {
        "unknown".to_owned()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    #[test]
    fn nvml_names_map_to_phalanx_models() {
        let samples = [
            ("Tesla V100-SXM2-32GB", 32_510),
            ("Tesla V100-SXM2-16GB", 16_160),
            ("Tesla V100-PCIE-16GB", 16_160),
            ("Tesla V100S-PCIE-32GB", 32_510),
            ("Tesla P100-PCIE-16GB", 16_280),
            ("Tesla T4", 15_360),
            ("NVIDIA A10", 23_028),
            ("NVIDIA A10G", 23_028),
            ("NVIDIA A100-SXM4-40GB", 40_960),
            ("NVIDIA A100-SXM4-80GB", 81_920),
            ("NVIDIA A100 80GB PCIe", 81_920),
            ("NVIDIA H100 80GB HBM3", 81_559),
            ("NVIDIA H100 PCIe", 81_559),
            ("NVIDIA H100 NVL", 95_830),
            ("NVIDIA H200", 143_771),
            ("NVIDIA GH200 480GB", 97_871),
            ("NVIDIA L40S", 46_068),
            ("NVIDIA L4", 23_034),
            ("NVIDIA GeForce RTX 4090", 24_564),
            ("Quadro RTX 8000/Max-Q, rev|2", 49_152),
            ("", 0),
        ];
        let got: String = samples
            .iter()
            .map(|&(n, m)| format!("{n:32} {m:>7} -> {}\n", model_for(n, m)))
            .collect();
        expect![[r#"
            Tesla V100-SXM2-32GB               32510 -> nvidia/V100M32
            Tesla V100-SXM2-16GB               16160 -> nvidia/V100M16
            Tesla V100-PCIE-16GB               16160 -> nvidia/V100M16
            Tesla V100S-PCIE-32GB              32510 -> nvidia/V100S
            Tesla P100-PCIE-16GB               16280 -> nvidia/P100
            Tesla T4                           15360 -> nvidia/T4
            NVIDIA A10                         23028 -> nvidia/A10
            NVIDIA A10G                        23028 -> nvidia/A10G
            NVIDIA A100-SXM4-40GB              40960 -> nvidia/A100
            NVIDIA A100-SXM4-80GB              81920 -> nvidia/A100-80G
            NVIDIA A100 80GB PCIe              81920 -> nvidia/A100-80G
            NVIDIA H100 80GB HBM3              81559 -> nvidia/H100
            NVIDIA H100 PCIe                   81559 -> nvidia/H100-PCIe
            NVIDIA H100 NVL                    95830 -> nvidia/H100-NVL
            NVIDIA H200                       143771 -> nvidia/H200
            NVIDIA GH200 480GB                 97871 -> nvidia/GH200
            NVIDIA L40S                        46068 -> nvidia/L40S
            NVIDIA L4                          23034 -> nvidia/L4
            NVIDIA GeForce RTX 4090            24564 -> nvidia/GeForce-RTX-4090
            Quadro RTX 8000/Max-Q, rev|2       49152 -> nvidia/Quadro-RTX-8000-Max-Q-rev-2
                                                   0 -> nvidia/unknown
        "#]]
        .assert_eq(&got);
    }

    #[test]
    fn the_doc_table_is_the_rule_table() {
        for doc in [include_str!("model.rs"), include_str!("../../README.md")] {
            check_table(doc);
        }
    }

    fn check_table(doc: &str) {
        for &(chip, when, model) in RULES {
            let cond = match when {
                When::Always => String::new(),
                When::Word(w) => format!("the word `{w}`"),
                When::MemoryAtLeastGib(g) => format!("memory ≥ {g} GiB"),
            };
            let row = format!("`{chip}`");
            let found = doc.lines().any(|l| {
                let cells: Vec<&str> = l.trim_start_matches("//!").split('|').map(str::trim).collect();
                cells.len() == 5 && cells[1] == row && cells[2] == cond && cells[3] == format!("`nvidia/{model}`")
            });
            assert!(found, "the docs lack the row for {chip} {cond} {model}");
        }
    }
}
