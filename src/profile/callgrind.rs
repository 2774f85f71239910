//! Reads callgrind's output format (`callgrind.out.*`): per-function self instruction counts,
//! the call edges between functions with their call counts, and what that gives the
//! classifier of [`super`].
//!
//! The format (valgrind's "Callgrind Format Specification") is line based: `ob=`, `fl=`,
//! `fi=`/`fe=` and `fn=` set the current object, file and function; a cost line is the
//! position columns (`positions:`) followed by the event counts (`events:`); `cob=`/`cfi=`/
//! `cfn=` name a called function and `calls=N ...` says how often it was called, the cost
//! line right after it being the inclusive cost of those calls (not the caller's self cost).
//! Names may be compressed: the first use is `(id) name`, later uses `(id)` alone.
//!
//! Libraries stripped to their exported symbols (Debian's libcrypto and libssl) leave their
//! internal functions unnamed: callgrind names them by address (`0x00000000001a2b3c`).
//! [`Profile::attributed`] hands such a function's cost to the named functions of the same
//! object that call it (in proportion to what each call cost), so that `RSA_private_decrypt`
//! keeps the cost of the static bignum code under it; cost that reaches no named caller in
//! its own object stays with the object, as an address.

use super::{Breakdown, Objects};
use crate::{Error, Result};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// One function of a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// Its name as callgrind gives it (demangled Rust path, C name, or `0x...` address).
    pub name: String,
    /// The object it lives in (shared library or executable path; empty when unknown).
    pub object: String,
    /// Instructions executed in the function itself (callgrind `Ir`, exclusive).
    pub self_ir: u64,
}

/// One caller -> callee edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// Index of the caller in [`Profile::functions`].
    pub caller: usize,
    /// Index of the callee.
    pub callee: usize,
    /// How many calls.
    pub calls: u64,
    /// Instructions of those calls, callee's callees included.
    pub inclusive_ir: u64,
}

/// A parsed callgrind profile (instructions only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    /// Every function with a cost or a call, one entry per (object, name).
    pub functions: Vec<Function>,
    /// Every call edge.
    pub edges: Vec<Edge>,
    /// The `totals:` (or `summary:`) line's instruction count, else the sum of self costs.
    pub total_ir: u64,
    /// What made callgrind write this profile (`desc: Trigger:`), e.g.
    /// `--dump-before=tlscost::handshake::openssl::client_step` or `Program termination`.
    pub trigger: Option<String>,
}

/// Whether callgrind named a function only by its address (no symbol covers it).
pub fn is_unnamed(name: &str) -> bool {
    name.starts_with("0x") && name[2..].chars().all(|c| c.is_ascii_hexdigit())
}

/// A symbol without its ELF version (`RSA_sign@@OPENSSL_3.0.0` -> `RSA_sign`).
pub fn base_name(name: &str) -> &str {
    name.split('@').next().unwrap_or(name)
}

#[derive(Default)]
struct Names {
    map: HashMap<(u8, String), String>,
}

impl Names {
    /// Resolves `(id) name` / `(id)` / `name` for one kind of name (ob, fl, fn...).
    fn resolve(&mut self, kind: u8, value: &str) -> std::result::Result<String, String> {
        let value = value.trim();
        if let Some(rest) = value.strip_prefix('(') {
            let (id, name) = rest
                .split_once(')')
                .ok_or_else(|| format!("unclosed name id in '{value}'"))?;
            let name = name.trim();
            if name.is_empty() {
                return self
                    .map
                    .get(&(kind, id.to_string()))
                    .cloned()
                    .ok_or_else(|| format!("name id ({id}) used before it was defined"));
            }
            self.map.insert((kind, id.to_string()), name.to_string());
            return Ok(name.to_string());
        }
        Ok(value.to_string())
    }
}

impl Profile {
    /// Reads a callgrind output file; a missing file or one that is not callgrind's is an
    /// error naming it.
    pub fn read(path: &Path) -> Result<Profile> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading callgrind output {}", path.display()), e))?;
        Profile::parse(&text).map_err(|what| Error::Results {
            path: path.to_path_buf(),
            what: format!("not a callgrind profile: {what}"),
        })
    }

    /// Parses callgrind's text format. Error: what is wrong, with the line number.
    pub fn parse(text: &str) -> std::result::Result<Profile, String> {
        let mut p = Profile::default();
        let mut index: HashMap<(String, String), usize> = HashMap::new();
        let mut names = Names::default();
        let mut positions = 1usize;
        let mut ir_column: Option<usize> = None;
        let mut seen_header = false;
        let (mut ob, mut cob): (String, Option<String>) = (String::new(), None);
        let mut current: Option<usize> = None;
        let mut callee: Option<usize> = None;
        let mut pending_calls: Option<u64> = None;
        let mut totals: Option<u64> = None;

        let mut intern = |p: &mut Profile, object: &str, name: &str| -> usize {
            let key = (object.to_string(), name.to_string());
            *index.entry(key).or_insert_with(|| {
                p.functions.push(Function {
                    name: name.to_string(),
                    object: object.to_string(),
                    self_ir: 0,
                });
                p.functions.len() - 1
            })
        };

        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim_end();
            let at = |what: String| format!("line {}: {what}", n + 1);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let first = line.as_bytes()[0];
            if first.is_ascii_digit() || first == b'+' || first == b'-' || first == b'*' {
                let ir_col = ir_column.ok_or_else(|| at("cost line before `events:`".into()))?;
                let cols: Vec<&str> = line.split_ascii_whitespace().collect();
                let ir = match cols.get(positions + ir_col) {
                    Some(v) => v
                        .parse::<u64>()
                        .map_err(|_| at(format!("bad event count '{v}'")))?,
                    None => 0, // trailing zero events may be left out
                };
                if let Some(calls) = pending_calls.take() {
                    let (caller, callee) = match (current, callee) {
                        (Some(c), Some(e)) => (c, e),
                        _ => return Err(at("`calls=` without `fn=` and `cfn=`".into())),
                    };
                    p.edges.push(Edge {
                        caller,
                        callee,
                        calls,
                        inclusive_ir: ir,
                    });
                    cob = None;
                } else {
                    let f = current.ok_or_else(|| at("cost line before any `fn=`".into()))?;
                    p.functions[f].self_ir += ir;
                }
                continue;
            }
            // `key=value` (names, calls) or `key: value` (headers), whichever separator is first.
            let Some((key, value)) = line.find(['=', ':']).map(|i| (&line[..i], &line[i + 1..]))
            else {
                return Err(at(format!("unrecognised line '{line}'")));
            };
            match key {
                "ob" => ob = names.resolve(b'o', value).map_err(at)?,
                "cob" => cob = Some(names.resolve(b'o', value).map_err(at)?),
                "fl" | "fi" | "fe" => {
                    names.resolve(b'f', value).map_err(at)?;
                }
                "cfi" | "cfl" => {
                    names.resolve(b'f', value).map_err(at)?;
                }
                "fn" => {
                    let name = names.resolve(b'n', value).map_err(at)?;
                    current = Some(intern(&mut p, &ob, &name));
                }
                "cfn" => {
                    let name = names.resolve(b'n', value).map_err(at)?;
                    let object = cob.clone().unwrap_or_else(|| ob.clone());
                    callee = Some(intern(&mut p, &object, &name));
                }
                "calls" => {
                    let count = value.split_ascii_whitespace().next().unwrap_or("");
                    pending_calls = Some(
                        count
                            .parse()
                            .map_err(|_| at(format!("bad call count '{count}'")))?,
                    );
                }
                "positions" => {
                    seen_header = true;
                    positions = value.split_ascii_whitespace().count().max(1);
                }
                "events" => {
                    seen_header = true;
                    ir_column = Some(
                        value
                            .split_ascii_whitespace()
                            .position(|e| e == "Ir")
                            .ok_or_else(|| at("no `Ir` among the events".into()))?,
                    );
                }
                "totals" | "summary" => {
                    let ir_col = ir_column.unwrap_or(0);
                    if let Some(v) = value.split_ascii_whitespace().nth(ir_col) {
                        totals = Some(v.parse().map_err(|_| at(format!("bad total '{v}'")))?);
                    }
                }
                "desc" => {
                    seen_header = true;
                    if let Some(t) = value.trim().strip_prefix("Trigger:") {
                        p.trigger = Some(t.trim().to_string());
                    }
                }
                "version" | "creator" | "pid" | "cmd" | "part" | "thread" | "jump" | "jcnd" => {
                    seen_header = true;
                }
                _ => {} // other header lines of newer versions: ignored
            }
        }
        if !seen_header || ir_column.is_none() {
            return Err("no `events:` header line".into());
        }
        p.total_ir = totals.unwrap_or_else(|| p.functions.iter().map(|f| f.self_ir).sum());
        Ok(p)
    }

    /// Adds another profile of the same program (a later dump): costs, calls and totals summed,
    /// functions matched by object and name.
    pub fn merge(&mut self, other: &Profile) {
        let mut index: HashMap<(String, String), usize> = self
            .functions
            .iter()
            .enumerate()
            .map(|(i, f)| ((f.object.clone(), f.name.clone()), i))
            .collect();
        let map: Vec<usize> = other
            .functions
            .iter()
            .map(|f| {
                let key = (f.object.clone(), f.name.clone());
                let i = *index.entry(key).or_insert_with(|| {
                    self.functions.push(Function {
                        self_ir: 0,
                        ..f.clone()
                    });
                    self.functions.len() - 1
                });
                self.functions[i].self_ir += f.self_ir;
                i
            })
            .collect();
        let mut edges: HashMap<(usize, usize), usize> = self
            .edges
            .iter()
            .enumerate()
            .map(|(i, e)| ((e.caller, e.callee), i))
            .collect();
        for e in &other.edges {
            let (caller, callee) = (map[e.caller], map[e.callee]);
            match edges.get(&(caller, callee)) {
                Some(&i) => {
                    self.edges[i].calls += e.calls;
                    self.edges[i].inclusive_ir += e.inclusive_ir;
                }
                None => {
                    edges.insert((caller, callee), self.edges.len());
                    self.edges.push(Edge {
                        caller,
                        callee,
                        ..e.clone()
                    });
                }
            }
        }
        self.total_ir += other.total_ir;
    }

    /// The same profile with its call counts set to zero (costs kept).
    pub fn without_calls(mut self) -> Profile {
        for e in &mut self.edges {
            e.calls = 0;
        }
        self
    }

    /// How many times functions named `name` (ELF version ignored) were called.
    pub fn calls_to(&self, name: &str) -> u64 {
        self.edges
            .iter()
            .filter(|e| base_name(&self.functions[e.callee].name) == name)
            .map(|e| e.calls)
            .sum()
    }

    /// Instructions executed inside functions named `name` (ELF version ignored), summed over
    /// the calls that reach them (callgrind's inclusive cost of each call edge).
    pub fn inclusive_into(&self, name: &str) -> u64 {
        self.edges
            .iter()
            .filter(|e| e.caller != e.callee && base_name(&self.functions[e.callee].name) == name)
            .map(|e| e.inclusive_ir)
            .sum()
    }

    /// Call counts of every named function, by name (ELF version removed).
    pub fn call_counts(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for e in &self.edges {
            let f = &self.functions[e.callee];
            if !is_unnamed(&f.name) {
                *out.entry(base_name(&f.name).to_string()).or_default() += e.calls;
            }
        }
        out
    }

    /// Self costs with every unnamed function's cost handed to the named functions of the
    /// same object that call it (directly or through other unnamed ones), in proportion to
    /// the inclusive cost of each call. `(name, object, instructions)`; the sum is the sum
    /// of all self costs.
    pub fn attributed(&self) -> Vec<(String, String, f64)> {
        let n = self.functions.len();
        let mut incoming: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
        for e in &self.edges {
            if e.caller != e.callee && e.inclusive_ir > 0 {
                incoming[e.callee].push((e.caller, e.inclusive_ir as f64));
            }
        }
        let mut cost: Vec<f64> = self.functions.iter().map(|f| f.self_ir as f64).collect();
        // Hand costs up, a bounded number of levels (call graphs may have cycles).
        for _ in 0..32 {
            let mut moved = false;
            let mut next = cost.clone();
            for (i, f) in self.functions.iter().enumerate() {
                if cost[i] == 0.0 || !is_unnamed(&f.name) {
                    continue;
                }
                let callers: Vec<(usize, f64)> = incoming[i]
                    .iter()
                    .copied()
                    .filter(|(c, _)| self.functions[*c].object == f.object)
                    .collect();
                let weight: f64 = callers.iter().map(|(_, w)| w).sum();
                if weight <= 0.0 {
                    continue;
                }
                for (c, w) in callers {
                    next[c] += cost[i] * w / weight;
                }
                next[i] -= cost[i];
                moved = true;
            }
            cost = next;
            if !moved {
                break;
            }
        }
        self.functions
            .iter()
            .zip(cost)
            .filter(|(_, c)| c.abs() > 1e-9)
            .map(|(f, c)| (f.name.clone(), f.object.clone(), c))
            .collect()
    }

    /// The same profile with each function's self cost cut to the share of it spent outside
    /// calls to the functions named `entries` (ELF version ignored): what those operations do
    /// not hold. An entry keeps nothing; a function reached only from inside them keeps
    /// nothing, one reached only from outside keeps all, one reached from both keeps the share
    /// of its incoming calls' inclusive cost that came from outside (gprof's rule, iterated
    /// over the call graph). Edges are kept, so [`Profile::attributed`] still hands unnamed
    /// code to its callers.
    pub fn outside(&self, entries: &[&str]) -> Profile {
        let n = self.functions.len();
        let entry: Vec<bool> = self
            .functions
            .iter()
            .map(|f| entries.contains(&base_name(&f.name)))
            .collect();
        let mut incoming: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
        for e in &self.edges {
            if e.caller != e.callee && e.inclusive_ir > 0 {
                incoming[e.callee].push((e.caller, e.inclusive_ir as f64));
            }
        }
        let mut inside: Vec<f64> = entry.iter().map(|e| f64::from(u8::from(*e))).collect();
        // Converges from below; cycles make it approach the fixed point geometrically.
        for _ in 0..200 {
            let mut changed = false;
            for i in 0..n {
                if entry[i] || incoming[i].is_empty() {
                    continue;
                }
                let weight: f64 = incoming[i].iter().map(|(_, w)| w).sum();
                let v = incoming[i].iter().map(|(c, w)| w * inside[*c]).sum::<f64>() / weight;
                if (v - inside[i]).abs() > 1e-9 {
                    inside[i] = v;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let mut p = self.clone();
        for (f, x) in p.functions.iter_mut().zip(&inside) {
            f.self_ir = (f.self_ir as f64 * (1.0 - x)).round() as u64;
        }
        p.total_ir = p.functions.iter().map(|f| f.self_ir).sum();
        p
    }

    /// The profile summed by the paper's categories and the finer parts ([`Profile::attributed`]
    /// costs, classified by [`super::classify`]), in instructions.
    pub fn breakdown(&self, objects: &Objects) -> Breakdown {
        let mut b = Breakdown::default();
        for (name, object, ir) in self.attributed() {
            b.add(base_name(&name), &object, objects, ir);
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str, self_ir: u64) -> Function {
        Function {
            name: name.into(),
            object: "libcrypto.so.3".into(),
            self_ir,
        }
    }

    fn edge(caller: usize, callee: usize, inclusive_ir: u64) -> Edge {
        Edge {
            caller,
            callee,
            calls: 1,
            inclusive_ir,
        }
    }

    #[test]
    fn outside_keeps_what_the_entries_do_not_reach() {
        // step -> RSA_sign (entry) -> fetch; step -> fetch; RSA_sign -> fetch carries 3/4 of
        // fetch's incoming cost, and fetch -> lock is reached only through fetch.
        let p = Profile {
            functions: vec![
                f("step", 10),
                f("RSA_sign@@OPENSSL_3.0.0", 500),
                f("fetch", 80),
                f("lock", 20),
            ],
            edges: vec![
                edge(0, 1, 575),
                edge(0, 2, 25),
                edge(1, 2, 75),
                edge(2, 3, 20),
            ],
            total_ir: 610,
            trigger: None,
        };
        let o = p.outside(&["RSA_sign"]);
        let self_ir: Vec<u64> = o.functions.iter().map(|f| f.self_ir).collect();
        assert_eq!(self_ir, vec![10, 0, 20, 5]);
        assert_eq!(o.total_ir, 35);
        assert_eq!(o.edges, p.edges);
        // Nothing named: everything is outside.
        assert_eq!(p.outside(&["nothing"]).total_ir, 610);
    }

    const SAMPLE: &str = "# callgrind format
version: 1
creator: callgrind-3.19.0
cmd: tlscost anatomy --x=y
desc: Trigger: --dump-before=tlscost::handshake::openssl::server_step
positions: line
events: Ir
summary: 1000

ob=(1) /work/target/release/tlscost
fl=(1) src/main.rs
fn=(1) tlscost::handshake::openssl::server_step
10 100
cob=(2) /usr/lib/x86_64-linux-gnu/libcrypto.so.3
cfi=(2) ???
cfn=(2) RSA_private_decrypt@@OPENSSL_3.0.0
calls=1 0
11 800
cob=(3) /usr/lib/x86_64-linux-gnu/libc.so.6
cfn=(4) malloc
calls=2 0
12 100

ob=(2)
fl=(2)
fn=(2)
0 50
cfn=(3) 0x00000000001a2b3c
calls=3 0
0 750
fn=(3)
0 750

ob=(3)
fn=(4)
0 100
totals: 1000
";

    #[test]
    fn parses_costs_calls_and_compressed_names() {
        let p = Profile::parse(SAMPLE).unwrap();
        assert_eq!(p.total_ir, 1000);
        assert_eq!(
            p.trigger.as_deref(),
            Some("--dump-before=tlscost::handshake::openssl::server_step")
        );
        let self_sum: u64 = p.functions.iter().map(|f| f.self_ir).sum();
        assert_eq!(self_sum, 1000);
        assert_eq!(p.calls_to("RSA_private_decrypt"), 1);
        assert_eq!(p.calls_to("malloc"), 2);
        assert_eq!(p.inclusive_into("RSA_private_decrypt"), 800);
        let counts = p.call_counts();
        assert_eq!(counts.get("RSA_private_decrypt"), Some(&1));
        assert!(!counts.keys().any(|k| k.starts_with("0x")));
        // The unnamed function lives in libcrypto (called within the same object).
        let unnamed = p.functions.iter().find(|f| is_unnamed(&f.name)).unwrap();
        assert!(unnamed.object.ends_with("libcrypto.so.3"));
    }

    #[test]
    fn unnamed_cost_goes_to_its_named_caller_in_the_same_object() {
        let p = Profile::parse(SAMPLE).unwrap();
        let a = p.attributed();
        let get = |n: &str| a.iter().find(|(name, _, _)| name.starts_with(n)).unwrap().2;
        assert_eq!(get("RSA_private_decrypt"), 800.0);
        assert!(!a.iter().any(|(n, _, _)| is_unnamed(n)));
        let total: f64 = a.iter().map(|(_, _, c)| c).sum();
        assert_eq!(total, 1000.0);
        let b = p.breakdown(&Objects::default());
        assert_eq!(b.category(super::super::Category::Rsa), 800.0);
        assert_eq!(b.category(super::super::Category::Libc), 100.0);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(Profile::parse("").is_err());
        assert!(Profile::parse("hello world").is_err());
        assert!(Profile::parse("events: Ir\nfn=(1)\n").is_err());
        assert!(Profile::parse("events: Ir\n10 5\n").is_err());
        assert!(Profile::parse("events: Ir\nfn=(1) f\n10 x\n").is_err());
    }
}
