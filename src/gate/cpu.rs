//! The CPU the counted program sees: CPUID as valgrind presents it.
//!
//! Under valgrind the program never runs on the host CPU: valgrind's VEX translates it and
//! answers its `cpuid` instructions with a CPU of its own (valgrind 3.19 on a host with
//! AVX2 presents a CPU with AVX2 and without AVX-512, whatever the host has). Crypto code
//! picks its paths from those answers (OpenSSL's `OPENSSL_ia32cap`, ring's and RustCrypto's
//! feature detection), so two machines whose valgrind presents the same features count the
//! same instructions, even when their host CPUs differ; and two machines whose valgrind
//! presents different features cannot be compared, even with the same host CPU model.
//!
//! [`CpuView::of_this_process`] reads CPUID in the running process; [`emulated`] runs
//! `valgrind --tool=none <tlscost> gate probe --this-process` and reads what it printed,
//! which is what every program counted under that valgrind sees.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The features a program reads from CPUID that select code paths in the measured crypto
/// (name, leaf, sub-leaf, register index eax=0 ebx=1 ecx=2 edx=3, bit), with Linux's
/// `/proc/cpuinfo` names.
pub const FEATURE_BITS: &[(&str, u32, u32, usize, u32)] = &[
    ("sse2", 1, 0, 3, 26),
    ("sse3", 1, 0, 2, 0),
    ("pclmulqdq", 1, 0, 2, 1),
    ("ssse3", 1, 0, 2, 9),
    ("fma", 1, 0, 2, 12),
    ("sse4_1", 1, 0, 2, 19),
    ("sse4_2", 1, 0, 2, 20),
    ("movbe", 1, 0, 2, 22),
    ("popcnt", 1, 0, 2, 23),
    ("aes", 1, 0, 2, 25),
    ("xsave", 1, 0, 2, 26),
    ("osxsave", 1, 0, 2, 27),
    ("avx", 1, 0, 2, 28),
    ("f16c", 1, 0, 2, 29),
    ("rdrand", 1, 0, 2, 30),
    ("bmi1", 7, 0, 1, 3),
    ("avx2", 7, 0, 1, 5),
    ("bmi2", 7, 0, 1, 8),
    ("erms", 7, 0, 1, 9),
    ("avx512f", 7, 0, 1, 16),
    ("avx512dq", 7, 0, 1, 17),
    ("rdseed", 7, 0, 1, 18),
    ("adx", 7, 0, 1, 19),
    ("avx512ifma", 7, 0, 1, 21),
    ("avx512cd", 7, 0, 1, 28),
    ("sha_ni", 7, 0, 1, 29),
    ("avx512bw", 7, 0, 1, 30),
    ("avx512vl", 7, 0, 1, 31),
    ("avx512vbmi", 7, 0, 2, 1),
    ("avx512_vbmi2", 7, 0, 2, 6),
    ("gfni", 7, 0, 2, 8),
    ("vaes", 7, 0, 2, 9),
    ("vpclmulqdq", 7, 0, 2, 10),
    ("abm", 0x8000_0001, 0, 2, 5),
];

/// The CPU as one process sees it through CPUID (and XGETBV for the register state the OS
/// enabled, which decides whether AVX and AVX-512 code may run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuView {
    /// CPUID vendor string, e.g. `GenuineIntel`; the architecture name off x86-64.
    pub vendor: String,
    /// CPUID brand string (informational: valgrind may pass the host's through).
    pub brand: String,
    /// Family, model and stepping as CPUID reports them, `family-model-stepping` (informational).
    pub signature: String,
    /// The [`FEATURE_BITS`] that are set, plus `xcr0:avx` / `xcr0:avx512` when the OS state
    /// for them is enabled, sorted.
    pub features: Vec<String>,
}

/// What valgrind presents to the programs it runs, and which valgrind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmulatedCpu {
    /// `valgrind --version`.
    pub valgrind: String,
    /// The CPU seen by a program under that valgrind.
    pub view: CpuView,
}

impl CpuView {
    /// Reads CPUID in this process (under valgrind: valgrind's answers).
    pub fn of_this_process() -> CpuView {
        read_cpuid()
    }

    /// The comparison that decides whether instruction counts are comparable: the same
    /// vendor (OpenSSL tunes some paths per vendor) and the same features.
    pub fn differences(&self, other: &CpuView) -> Vec<String> {
        let mut d = Vec::new();
        if self.vendor != other.vendor {
            d.push(format!("vendor {} vs {}", self.vendor, other.vendor));
        }
        let only = |a: &CpuView, b: &CpuView| -> Vec<String> {
            a.features
                .iter()
                .filter(|f| !b.features.contains(f))
                .cloned()
                .collect()
        };
        let (mine, theirs) = (only(self, other), only(other, self));
        if !mine.is_empty() {
            d.push(format!("only in the first: {}", mine.join(" ")));
        }
        if !theirs.is_empty() {
            d.push(format!("only in the second: {}", theirs.join(" ")));
        }
        d
    }
}

#[cfg(target_arch = "x86_64")]
fn read_cpuid() -> CpuView {
    use std::arch::x86_64::{__cpuid_count, CpuidResult};
    // CPUID exists on every x86-64 CPU; leaves above the maximum return zeros or the highest
    // leaf's values, so each leaf is only read when the maximum says it exists.
    let leaf = |l: u32, s: u32| -> [u32; 4] {
        // SAFETY: CPUID has no preconditions on x86-64 (the intrinsic is safe in newer Rust).
        #[allow(unused_unsafe)]
        let CpuidResult { eax, ebx, ecx, edx } = unsafe { __cpuid_count(l, s) };
        [eax, ebx, ecx, edx]
    };
    let max = leaf(0, 0);
    let vendor: Vec<u8> = [max[1], max[3], max[2]]
        .iter()
        .flat_map(|r| r.to_le_bytes())
        .collect();
    let max_ext = leaf(0x8000_0000, 0)[0];
    let present = |l: u32| {
        if l >= 0x8000_0000 {
            l <= max_ext
        } else {
            l <= max[0]
        }
    };
    let mut features: Vec<String> = FEATURE_BITS
        .iter()
        .filter(|(_, l, s, r, b)| present(*l) && leaf(*l, *s)[*r] & (1 << b) != 0)
        .map(|(name, ..)| name.to_string())
        .collect();
    if features.iter().any(|f| f == "osxsave") {
        // SAFETY: XGETBV(0) is allowed when CPUID says the OS enabled XSAVE (OSXSAVE).
        let xcr0 = unsafe { xgetbv0() };
        if xcr0 & 0b110 == 0b110 {
            features.push("xcr0:avx".into());
        }
        if xcr0 & 0b1110_0110 == 0b1110_0110 {
            features.push("xcr0:avx512".into());
        }
    }
    features.sort();
    let brand = if max_ext >= 0x8000_0004 {
        let bytes: Vec<u8> = (0x8000_0002..=0x8000_0004)
            .flat_map(|l| leaf(l, 0))
            .flat_map(|r| r.to_le_bytes())
            .collect();
        String::from_utf8_lossy(&bytes)
            .trim_matches(char::from(0))
            .trim()
            .to_string()
    } else {
        String::new()
    };
    let sig = leaf(1, 0)[0];
    let (base_family, base_model, stepping) = ((sig >> 8) & 0xf, (sig >> 4) & 0xf, sig & 0xf);
    let family = if base_family == 0xf {
        base_family + ((sig >> 20) & 0xff)
    } else {
        base_family
    };
    let model = if base_family == 0x6 || base_family == 0xf {
        base_model + (((sig >> 16) & 0xf) << 4)
    } else {
        base_model
    };
    CpuView {
        vendor: String::from_utf8_lossy(&vendor).into_owned(),
        brand,
        signature: format!("{family}-{model}-{stepping}"),
        features,
    }
}

#[cfg(target_arch = "x86_64")]
unsafe fn xgetbv0() -> u64 {
    let (eax, edx): (u32, u32);
    // SAFETY (caller): only executed when CPUID reports OSXSAVE.
    unsafe {
        std::arch::asm!("xgetbv", in("ecx") 0u32, out("eax") eax, out("edx") edx,
            options(nomem, nostack, preserves_flags));
    }
    (u64::from(edx) << 32) | u64::from(eax)
}

#[cfg(not(target_arch = "x86_64"))]
fn read_cpuid() -> CpuView {
    CpuView {
        vendor: std::env::consts::ARCH.to_string(),
        brand: String::new(),
        signature: String::new(),
        features: Vec::new(),
    }
}

/// Runs `valgrind --tool=none <exe> gate probe --this-process` and returns the CPU it saw,
/// with the valgrind version. Errors name what failed: valgrind missing, the probe failing,
/// or output that is not a CPU view.
pub fn emulated(exe: &Path) -> Result<EmulatedCpu> {
    let version = std::process::Command::new("valgrind")
        .arg("--version")
        .output()
        .map_err(|e| {
            Error::io(
                "running `valgrind --version` (install valgrind: `make setup`)",
                e,
            )
        })?;
    let valgrind = String::from_utf8_lossy(&version.stdout).trim().to_string();
    let out = std::process::Command::new("valgrind")
        .args(["--tool=none", "-q"])
        .arg(exe)
        .args(["gate", "probe", "--this-process"])
        .output()
        .map_err(|e| Error::io(format!("running valgrind on {}", exe.display()), e))?;
    if !out.status.success() {
        return Err(Error::Usage(format!(
            "`valgrind --tool=none {} gate probe --this-process` exited with {}: {}",
            exe.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let view: CpuView = serde_json::from_slice(&out.stdout).map_err(|e| {
        Error::Usage(format!(
            "the CPU probe under valgrind printed no CPU view ({e}): {}",
            String::from_utf8_lossy(&out.stdout).trim()
        ))
    })?;
    Ok(EmulatedCpu { valgrind, view })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(vendor: &str, features: &[&str]) -> CpuView {
        CpuView {
            vendor: vendor.into(),
            brand: "b".into(),
            signature: "6-85-7".into(),
            features: features.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn differences_name_each_side() {
        let a = view("GenuineIntel", &["aes", "avx2", "avx512f"]);
        let b = view("GenuineIntel", &["aes", "avx2", "sha_ni"]);
        assert!(a.differences(&a).is_empty());
        let d = a.differences(&b).join("; ");
        assert!(
            d.contains("only in the first: avx512f") && d.contains("only in the second: sha_ni"),
            "{d}"
        );
        assert!(a
            .differences(&view("AuthenticAMD", &["aes", "avx2", "avx512f"]))
            .join("")
            .contains("vendor"));
        // The brand and the family/model do not decide comparability.
        let mut c = a.clone();
        c.brand = "another".into();
        c.signature = "6-143-8".into();
        assert!(a.differences(&c).is_empty());
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn this_process_sees_x86_64_baseline_features() {
        let v = CpuView::of_this_process();
        assert!(v.features.iter().any(|f| f == "sse2"), "{v:?}");
        assert!(!v.vendor.is_empty());
        let mut sorted = v.features.clone();
        sorted.sort();
        assert_eq!(sorted, v.features);
    }
}
