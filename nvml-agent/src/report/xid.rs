//! Which XID errors make a GPU unhealthy.
//!
//! An XID is the NVIDIA driver's error code for a GPU fault, reported through NVML's critical-XID event.
//! Some XIDs are the fault of one application (an illegal memory access, a channel reset): the GPU stays
//! usable and only that job fails. The others mean the device needs a reset or a reboot. Like NVIDIA's own
//! Kubernetes device plugin, the agent treats every XID as fatal except those known to be application or
//! informational errors, so an XID it has never heard of fails safe: the GPU is marked unhealthy.
//!
//! The table (also in the crate's README):
//!
//! | XID | Fatal | Meaning |
//! |-----|-------|---------|
//! | 13  | no    | Graphics engine exception (usually the application: illegal instruction or address) |
//! | 31  | no    | GPU memory page fault (usually the application: illegal memory access) |
//! | 43  | no    | GPU stopped processing (the application's channel was reset) |
//! | 45  | no    | Preemptive cleanup after an earlier error (a process was stopped) |
//! | 48  | yes   | Double-bit ECC error |
//! | 61  | yes   | Internal micro-controller breakpoint or warning |
//! | 62  | yes   | Internal micro-controller halt |
//! | 63  | no    | ECC page retirement or row remapping recorded (repaired; takes effect at the next reset) |
//! | 64  | yes   | ECC page retirement or row remapping failed |
//! | 68  | no    | Video decoder (NVDEC) exception (usually the application) |
//! | 74  | yes   | NVLink error |
//! | 79  | yes   | GPU has fallen off the bus |
//! | 92  | no    | High single-bit ECC error rate (corrected) |
//! | 94  | no    | Contained ECC error (only the affected application was stopped) |
//! | 95  | yes   | Uncontained ECC error |
//! | 109 | no    | Context switch timeout (usually the application) |
//! | 119 | yes   | GSP RPC timeout |
//! | 120 | yes   | GSP error |
//! | 140 | yes   | Unrecovered ECC error |
//! | any other, or unknown | yes | Not in this table: treated as fatal |

/// `(xid, fatal, meaning)`, in XID order.
pub const XID_TABLE: &[(u64, bool, &str)] = &[
    (
        13,
        false,
        "Graphics engine exception (usually the application: illegal instruction or address)",
    ),
    (
        31,
        false,
        "GPU memory page fault (usually the application: illegal memory access)",
    ),
    (
        43,
        false,
        "GPU stopped processing (the application's channel was reset)",
    ),
    (
        45,
        false,
        "Preemptive cleanup after an earlier error (a process was stopped)",
    ),
    (48, true, "Double-bit ECC error"),
    (61, true, "Internal micro-controller breakpoint or warning"),
    (62, true, "Internal micro-controller halt"),
    (
        63,
        false,
        "ECC page retirement or row remapping recorded (repaired; takes effect at the next reset)",
    ),
    (64, true, "ECC page retirement or row remapping failed"),
    (68, false, "Video decoder (NVDEC) exception (usually the application)"),
    (74, true, "NVLink error"),
    (79, true, "GPU has fallen off the bus"),
    (92, false, "High single-bit ECC error rate (corrected)"),
    (
        94,
        false,
        "Contained ECC error (only the affected application was stopped)",
    ),
    (95, true, "Uncontained ECC error"),
    (109, false, "Context switch timeout (usually the application)"),
    (119, true, "GSP RPC timeout"),
    (120, true, "GSP error"),
    (140, true, "Unrecovered ECC error"),
];

/// What the agent makes of one XID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XidInfo {
    /// Whether the GPU is unhealthy after it.
    pub fatal: bool,
    /// A short description.
    pub meaning: &'static str,
}

/// The verdict on XID `xid`; `None` is an XID event whose number the driver did not give.
pub fn xid_info(xid: Option<u64>) -> XidInfo {
    let unknown = XidInfo {
        fatal: true,
        meaning: "Not in the agent's XID table: treated as fatal",
    };
    let Some(xid) = xid else { return unknown };
    XID_TABLE
        .iter()
        .find(|&&(x, _, _)| x == xid)
        .map_or(unknown, |&(_, fatal, meaning)| XidInfo { fatal, meaning })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_xids_are_not_fatal_and_unknown_ones_are() {
        assert!(!xid_info(Some(13)).fatal);
        assert!(!xid_info(Some(31)).fatal);
        assert!(xid_info(Some(79)).fatal);
        assert!(xid_info(Some(48)).fatal);
        assert!(xid_info(Some(12345)).fatal);
        assert!(xid_info(None).fatal);
    }

    #[test]
    fn the_table_is_sorted_and_documented_here_and_in_the_readme() {
        assert!(XID_TABLE.windows(2).all(|w| w[0].0 < w[1].0));
        for doc in [include_str!("xid.rs"), include_str!("../../README.md")] {
            for &(xid, fatal, meaning) in XID_TABLE {
                let row = format!("| {xid:<3} | {:<5} | {meaning} |", if fatal { "yes" } else { "no" });
                assert!(doc.contains(&row), "missing table row: {row}");
            }
        }
    }
}
