//! What machine and software a measurement was taken on.
//!
//! Instruction counts and times only compare on the same code paths, so the CPU
//! signature keeps the flags that change which code OpenSSL, ring and RustCrypto run.

use serde::{Deserialize, Serialize};

/// CPU flags that select different crypto code paths.
pub const CODE_PATH_FLAGS: &[&str] = &[
    "aes",
    "pclmulqdq",
    "sha_ni",
    "avx",
    "avx2",
    "bmi2",
    "adx",
    "avx512f",
    "avx512ifma",
    "vaes",
    "vpclmulqdq",
];

/// The machine and software of one measurement run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// Host name.
    pub host: String,
    /// CPU model name from /proc/cpuinfo.
    pub cpu_model: String,
    /// The code-path flags of [`CODE_PATH_FLAGS`] this CPU has.
    pub cpu_flags: Vec<String>,
    /// Logical cores.
    pub cores: usize,
    /// Kernel release.
    pub kernel: String,
    /// rustc that built tlscost.
    pub rustc: String,
    /// OpenSSL library version string (linked at run time).
    pub openssl: String,
    /// How that OpenSSL was obtained: "system" or "vendored".
    pub openssl_build: String,
    /// How that OpenSSL was built, as it reports itself: `built on: ...`, `platform: ...` and
    /// `compiler: ... <flags>` (`OpenSSL_version`). Empty in files written before it was recorded.
    #[serde(default)]
    pub openssl_config: Vec<String>,
    /// `name=version` of every measured crate.
    pub crates: Vec<String>,
}

impl Machine {
    /// Reads the current machine.
    pub fn current() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |key: &str| {
            cpuinfo
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default()
        };
        let flags_line = field("flags");
        let present: Vec<&str> = flags_line.split_whitespace().collect();
        Machine {
            host: read_trimmed("/proc/sys/kernel/hostname"),
            cpu_model: field("model name"),
            cpu_flags: CODE_PATH_FLAGS
                .iter()
                .filter(|f| present.contains(f))
                .map(|f| f.to_string())
                .collect(),
            cores: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            kernel: read_trimmed("/proc/sys/kernel/osrelease"),
            rustc: env!("TLSCOST_RUSTC").to_string(),
            openssl: openssl::version::version().to_string(),
            openssl_build: if cfg!(feature = "vendored-openssl") {
                "vendored".into()
            } else {
                "system".into()
            },
            openssl_config: [
                openssl::version::built_on(),
                openssl::version::platform(),
                openssl::version::c_flags(),
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            crates: env!("TLSCOST_CRATES")
                .split(',')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        }
    }

    /// The CPU signature instruction counts depend on: model and code-path flags.
    pub fn cpu_signature(&self) -> String {
        format!("{} [{}]", self.cpu_model, self.cpu_flags.join(" "))
    }
}

/// How busy the machine is now: 1-minute load average and the share of CPU time
/// stolen by the hypervisor since boot, so a run can warn that its numbers are unreliable.
pub fn busy_signals() -> (Option<f64>, Option<f64>) {
    let load = read_trimmed("/proc/loadavg")
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok());
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let steal = stat.lines().next().and_then(|cpu| {
        let v: Vec<f64> = cpu
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        let total: f64 = v.iter().sum();
        (v.len() > 7 && total > 0.0).then(|| v[7] / total)
    });
    (load, steal)
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}
