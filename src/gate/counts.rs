//! Instruction counts of one gate run, read from the `summary.json` files gungraun writes
//! with `--save-summary=json` (one per benchmark, under `target/gungraun/<pkg>/<bench>/`).
//!
//! Every gate benchmark takes exactly one argument, the full benchmark name as a string
//! literal (`"rsa/openssl/decrypt/2048"`), and its gungraun id is that name made into an
//! identifier ([`ident`]). The reader maps ids back to names through the list of expected
//! names, and checks the name against the argument text gungraun records as `description`
//! (which it shortens with `...` when long), so a bench attribute whose id and name
//! disagree is caught.

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

/// Reads every `summary.json` below `dir`; `names` are the full names of the benchmarks
/// the run may hold. A directory without any summary, a summary that is not gungraun's or of
/// an unknown bench, a count of zero (a toggle on a function the compiler merged away counts
/// nothing) or two summaries with the same name are errors naming the file.
pub fn read_run(dir: &Path, names: &[String]) -> Result<Run> {
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
        let (name, ir, at) = parse_summary(&file, &text, names)?;
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
pub fn parse_summary(
    path: &Path,
    text: &str,
    names: &[String],
) -> Result<(String, u64, Option<String>)> {
    let bad = |what: String| Error::Results {
        path: path.to_path_buf(),
        what,
    };
    let v: Value = serde_json::from_str(text)
        .map_err(|e| bad(format!("not a gungraun summary (invalid JSON: {e})")))?;
    let id = v["id"]
        .as_str()
        .ok_or_else(|| bad("no benchmark `id` (not a gungraun summary?)".into()))?;
    let name = names
        .iter()
        .find(|n| ident(n) == id)
        .ok_or_else(|| {
            bad(format!(
                "benchmark id {id} is not one of the gate's benches"
            ))
        })?
        .clone();
    let description = v["description"].as_str().unwrap_or_default();
    match visible_argument(description) {
        Some(arg) if name.starts_with(arg) => {}
        _ => {
            return Err(bad(format!(
            "benchmark id {id} does not match its argument {description}: expected the name {name}"
        )))
        }
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

/// The visible part of the one string literal in gungraun's argument text:
/// `(setup("rsa/openssl/decrypt/2048"))` -> `rsa/openssl/decrypt/2048`,
/// `(setup("handshake/openssl/tls12-rsa-aes1...` -> `handshake/openssl/tls12-rsa-aes1`.
fn visible_argument(description: &str) -> Option<&str> {
    let (_, rest) = description.split_once('"')?;
    let arg = match rest.split_once('"') {
        Some((arg, tail)) => (!tail.contains('"')).then_some(arg)?,
        None => rest.strip_suffix("...")?,
    };
    (!arg.is_empty()).then_some(arg)
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
            visible_argument("(rsa_setup(\"rsa/openssl/sign/2048\"))"),
            Some("rsa/openssl/sign/2048")
        );
        assert_eq!(
            visible_argument("(setup(\"handshake/openssl/tls12-rsa-aes1..."),
            Some("handshake/openssl/tls12-rsa-aes1")
        );
        assert_eq!(visible_argument("(\"a\", \"b\")"), None);
        assert_eq!(visible_argument("(key, 3)"), None);
    }
}
