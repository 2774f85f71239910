//! Records the compiler and the versions of the measured crates, so every results
//! file can say exactly what it measured.
use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=TLSCOST_RUSTC={}", version.trim());

    // Versions of the crates whose code is measured, read from Cargo.lock.
    const MEASURED: &[&str] = &[
        "openssl",
        "openssl-sys",
        "rustls",
        "ring",
        "aws-lc-rs",
        "aws-lc-sys",
        "rsa",
        "aes",
        "des",
        "cbc",
        "hmac",
        "sha1",
        "aes-gcm",
        "num-bigint",
    ];
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let mut found = Vec::new();
    let mut name = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_string());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take()) {
            if MEASURED.contains(&n.as_str()) {
                found.push(format!("{n}={}", v.trim_matches('"')));
            }
        }
    }
    println!("cargo:rustc-env=TLSCOST_CRATES={}", found.join(","));
    println!("cargo:rerun-if-changed=Cargo.lock");
    println!("cargo:rerun-if-changed=build.rs");
}
