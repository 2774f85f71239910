//! A difference of CPU times measured as one figure: the parts it is made of run in small
//! alternating batches within every sample (A B C, then C B A, so a steady drift cancels
//! too), each timed in the measuring thread's CPU time, and the sample is their weighted sum.
//!
//! Why: a component the model takes as a difference of benches (sockets minus in-memory,
//! TCP minus UDP, the call with the 407 challenge minus the call without) moved by tens of
//! percent from run to run when its benches were taken minutes apart on a shared host,
//! whose speed changes over seconds to minutes. Interleaved, a change of speed hits every
//! part alike. Used by [`crate::connection::HandlingBench`] and
//! [`crate::transport::DifferenceBench`].

use crate::Result;
use std::time::Duration;

/// Runs each of `parts` parts `iters` times in batches of at most `batch` (`batch` ≥ 1):
/// every part's batch, then the next batch in the reverse order, and so on. `run(part, n)`
/// runs part `part` `n` times and returns the CPU time those runs took. Returns each part's
/// total, in part order. The first error stops the run and is returned.
pub fn alternate(
    parts: usize,
    iters: u64,
    batch: u64,
    mut run: impl FnMut(usize, u64) -> Result<Duration>,
) -> Result<Vec<Duration>> {
    let mut total = vec![Duration::ZERO; parts];
    let (mut left, mut forward) = (iters, true);
    while left > 0 {
        let n = left.min(batch.max(1));
        for k in 0..parts {
            let part = if forward { k } else { parts - 1 - k };
            total[part] += run(part, n)?;
        }
        left -= n;
        forward = !forward;
    }
    Ok(total)
}

/// Σ `weights[i]` × `totals[i]`, in ns (pairs beyond the shorter slice are ignored).
pub fn weighted_ns(weights: &[f64], totals: &[Duration]) -> f64 {
    weights
        .iter()
        .zip(totals)
        .map(|(w, t)| w * t.as_nanos() as f64)
        .sum()
}

/// What a sample whose difference is not positive is given to criterion: 1 ns for the whole
/// sample, the least it accepts.
pub const FLOOR: Duration = Duration::from_nanos(1);

/// A sample's figure for criterion: `ns`, or [`FLOOR`] when it is not positive (a `Duration`
/// cannot be negative); the flag says it was negative. The floor keeps the sample (criterion
/// refuses to analyse, and so to save, a bench with a zero sample), and a median over samples
/// most of which are positive is the same with the negative ones at the floor as at their
/// value.
pub fn floored(ns: i128) -> (Duration, bool) {
    let floor = FLOOR.as_nanos() as i128;
    let d = Duration::from_nanos(u64::try_from(ns.max(floor)).unwrap_or(u64::MAX));
    (d, ns < 0)
}

/// Which of a difference bench's samples came out negative (given as [`FLOOR`]), in call
/// order, and what to tell the user about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegativeSamples {
    negative: Vec<bool>,
    meaning: String,
    cause: String,
}

impl NegativeSamples {
    /// `meaning` completes "N of M samples ..." (what a negative sample measured, e.g.
    /// "measured TCP cheaper than UDP"); `cause` is the warning's advice when at least half
    /// were negative, beyond a change of the machine's speed.
    pub fn new(meaning: impl Into<String>, cause: impl Into<String>) -> NegativeSamples {
        NegativeSamples {
            negative: Vec::new(),
            meaning: meaning.into(),
            cause: cause.into(),
        }
    }

    /// Counts one sample (criterion's warm-up calls come first, then its samples).
    pub fn count(&mut self, negative: bool) {
        self.negative.push(negative);
    }

    /// What to say on stderr about `bench` after its run, judged on its last `samples`
    /// calls (criterion's samples; the warm-up calls before them are left out): nothing
    /// when none was negative; a note when some were (the median is unaffected while most
    /// are positive); a warning that the figure means nothing when at least half were.
    pub fn verdict(&self, bench: &str, samples: usize) -> Option<String> {
        let last = &self.negative[self.negative.len().saturating_sub(samples)..];
        let negative = last.iter().filter(|n| **n).count();
        if negative == 0 {
            return None;
        }
        let what = format!(
            "{bench}: {negative} of {} samples {}; each was counted as 1 ns",
            last.len(),
            self.meaning
        );
        Some(if 2 * negative >= last.len() {
            format!(
                "warning: {what}, so its median is near 0 and is no measurement: either the machine's speed changed under the bench (rerun it on a quieter machine) or {}",
                self.cause
            )
        } else {
            format!("note: {what} (the median is unaffected while most samples are positive)")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_alternate_forward_then_backward_in_batches() {
        let mut order = Vec::new();
        let totals = alternate(3, 20, 8, |part, n| {
            order.push((part, n));
            Ok(Duration::from_nanos(n * (part as u64 + 1)))
        })
        .unwrap();
        assert_eq!(
            order,
            [
                (0, 8),
                (1, 8),
                (2, 8),
                (2, 8),
                (1, 8),
                (0, 8),
                (0, 4),
                (1, 4),
                (2, 4)
            ]
        );
        // Every part ran all 20 iterations.
        assert_eq!(
            totals,
            [20, 40, 60].map(Duration::from_nanos).to_vec(),
            "{totals:?}"
        );
        // A zero batch still makes progress; an error stops the run.
        assert_eq!(
            alternate(1, 3, 0, |_, n| Ok(Duration::from_nanos(n))).unwrap(),
            [Duration::from_nanos(3)]
        );
        let mut calls = 0;
        let r = alternate(2, 10, 2, |_, _| {
            calls += 1;
            Err(crate::Error::Usage("stop".into()))
        });
        assert!(r.is_err());
        assert_eq!(calls, 1);
    }

    #[test]
    fn the_weighted_sum_subtracts_and_halves() {
        let t = [3_000, 1_000, 400].map(Duration::from_nanos);
        assert_eq!(weighted_ns(&[1.0, -1.0, -0.5], &t), 1_800.0);
        assert_eq!(weighted_ns(&[], &t), 0.0);
    }

    #[test]
    fn a_negative_difference_is_the_floor_and_flagged() {
        assert_eq!(floored(300), (Duration::from_nanos(300), false));
        assert_eq!(floored(0), (FLOOR, false));
        assert_eq!(floored(-200), (FLOOR, true));
        assert!(FLOOR > Duration::ZERO);
        assert_eq!(floored(i128::MAX), (Duration::from_nanos(u64::MAX), false));
    }

    #[test]
    fn negative_samples_are_judged_on_the_last_samples_only() {
        let mut n = NegativeSamples::new("measured A cheaper than B", "A does less than B");
        assert_eq!(n.verdict("b", 10), None);
        // Warm-up calls, all negative, then ten samples of which three are.
        for _ in 0..5 {
            n.count(true);
        }
        for i in 0..10 {
            n.count(i < 3);
        }
        let v = n.verdict("x/handling", 10).unwrap();
        assert!(
            v.starts_with("note: x/handling: 3 of 10 samples measured A cheaper than B;"),
            "{v}"
        );
        for _ in 0..5 {
            n.count(true);
        }
        // Five more negatives: the last ten are the five positive samples before them and
        // these five, half negative: a warning with the cause.
        let v = n.verdict("x/handling", 10).unwrap();
        assert!(v.starts_with("warning: ") && v.contains("5 of 10"), "{v}");
        assert!(v.contains("no measurement"), "{v}");
        assert!(v.ends_with("or A does less than B"), "{v}");
        // Fewer calls than samples (criterion's test mode: one call).
        let mut one = NegativeSamples::new("m", "c");
        one.count(true);
        assert!(one.verdict("b", 10).unwrap().contains("1 of 1 samples"));
        one.count(false);
        assert!(one.verdict("b", 1).is_none());
    }
}
