//! Instruction counts of one gate run, read from the `summary.json` files gungraun writes
//! with `--save-summary=json` (one per benchmark, under `target/gungraun/<pkg>/<bench>/`).
//!
//! Every gate benchmark takes exactly one argument, the full benchmark name as a string
//! literal (`args = ("rsa/openssl/decrypt/2048")`), and its gungraun id is that name made
//! into an identifier ([`ident`]). gungraun records the argument text as the summary's
//! `description`, so the name a count belongs to is read from the run itself; the id is
//! checked against it, which catches a bench attribute whose id and name disagree.

use crate::{Error, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Instruction counts (callgrind `Ir`) by full benchmark name.
pub type Counts = BTreeMap<String, u64>;

/// One run's counts and when the run started.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Ir by full benchmark name.
    pub counts: Counts,
    /// `started_at` of the earliest benchmark of the run (RFC 3339, UTC), if any.
    pub started_at: Option<String>,
}

/// The gungraun benchmark id of a full benchmark name: every character that is not
/// ASCII alphanumeric becomes `_` (`rsa/openssl/decrypt/2048` -> `rsa_openssl_decrypt_2048`).
pub fn ident(full_name: &str) -> String {
    full_name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Reads every `summary.json` below `dir`. A directory without any summary, a summary that
/// is not gungraun's, a count of zero (a toggle on a function the compiler merged away counts
/// nothing) or two summaries with the same name are errors naming the file.
pub fn read_run(dir: &Path) -> Result<Run> {
    if !dir.is_dir() {
        return Err(Error::Results {
            path: dir.to_path_buf(),
            what: "no gungraun output directory; run the gate benchmark first \
                   (`make gate`, or `cargo bench --bench gate -- --save-summary=json`)"
                .into(),
        });
    }
    let mut files = Vec::new();
    find_summaries(dir, &mut files)?;
    files.sort();
    if files.is_empty() {
        return Err(Error::Results {
            path: dir.to_path_buf(),
            what: "no summary.json below this directory; run the gate benchmark with \
                   `--save-summary=json`"
                .into(),
        });
    }
    let mut counts = Counts::new();
    let mut started: Option<String> = None;
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| Error::io(format!("reading {}", file.display()), e))?;
        let (name, ir, at) = parse_summary(&file, &text)?;
        if ir == 0 {
            return Err(Error::Results {
                path: file,
                what: format!(
                    "{name} counted 0 instructions: the counted function was not entered \
                     (inlined or merged by the compiler?)"
                ),
            });
        }
        if counts.insert(name.clone(), ir).is_some() {
            return Err(Error::Results {
                path: file,
                what: format!("a second summary for {name}"),
            });
        }
        if let Some(at) = at {
            if started.as_ref().is_none_or(|s| at < *s) {
                started = Some(at);
            }
        }
    }
    Ok(Run {
        counts,
        started_at: started,
    })
}

fn find_summaries(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    for entry in entries {
        let path = entry
            .map_err(|e| Error::io(format!("listing {}", dir.display()), e))?
            .path();
        if path.is_dir() {
            find_summaries(&path, out)?;
        } else if path.file_name().is_some_and(|n| n == "summary.json") {
            out.push(path);
        }
    }
    Ok(())
}

/// Parses one gungraun summary: (full benchmark name, Ir, started_at).
pub fn parse_summary(path: &Path, text: &str) -> Result<(String, u64, Option<String>)> {
    let bad = |what: String| Error::Results {
        path: path.to_path_buf(),
        what,
    };
    let v: Value = serde_json::from_str(text)
        .map_err(|e| bad(format!("not a gungraun summary (invalid JSON: {e})")))?;
    let id = v["id"]
        .as_str()
        .ok_or_else(|| bad("no benchmark `id` (not a gungraun summary?)".into()))?;
    let description = v["description"].as_str().ok_or_else(|| {
        bad(format!(
            "benchmark {id} has no `description`: a gate bench takes its full name as its only argument"
        ))
    })?;
    let name = name_from_description(description).ok_or_else(|| {
        bad(format!(
            "benchmark {id}: description {description} is not one string literal (the full bench name)"
        ))
    })?;
    if ident(&name) != id {
        return Err(bad(format!(
            "benchmark id {id} does not match its name {name} (expected id {})",
            ident(&name)
        )));
    }
    let profiles = v["profiles"]
        .as_array()
        .ok_or_else(|| bad(format!("{name}: no `profiles` array")))?;
    let callgrind = profiles
        .iter()
        .find(|p| p["tool"] == "Callgrind")
        .ok_or_else(|| bad(format!("{name}: no Callgrind profile")))?;
    let ir = callgrind["data"]["total"]["metrics"]["Ir"]["values"]["new"]
        .as_u64()
        .ok_or_else(|| bad(format!("{name}: no integer Callgrind Ir count")))?;
    let started_at = v["started_at"].as_str().map(String::from);
    Ok((name, ir, started_at))
}

/// `("rsa/openssl/decrypt/2048")` or `"rsa/..."` -> `rsa/openssl/decrypt/2048`.
fn name_from_description(d: &str) -> Option<String> {
    let d = d.trim();
    let d = d
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or(d)
        .trim()
        .trim_end_matches(',');
    let inner = d.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.is_empty() && !inner.contains(['"', '\\', ','])).then(|| inner.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idents_are_identifiers() {
        assert_eq!(
            ident("handshake/openssl/tls12-rsa-aes128-sha/resumed-id/client"),
            "handshake_openssl_tls12_rsa_aes128_sha_resumed_id_client"
        );
    }

    #[test]
    fn description_forms() {
        assert_eq!(
            name_from_description("(\"rsa/openssl/sign/2048\")").as_deref(),
            Some("rsa/openssl/sign/2048")
        );
        assert_eq!(name_from_description("\"a/b\"").as_deref(), Some("a/b"));
        assert_eq!(name_from_description("(\"a\", 3)"), None);
        assert_eq!(name_from_description("(key, 3)"), None);
    }
}
