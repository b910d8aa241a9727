//! Repetitions until decided, without inflating the stated confidence: an exact group-sequential
//! sign test. The runner looks at the verdicts only at planned round counts (a geometric
//! schedule, [`Looks::plan`]); every look takes the order-statistic interval at one per-look
//! level, chosen so that the chance that *every* planned look's interval holds the true median
//! ratio is at least 95 %. That chance is computed exactly: below the true median, each round's
//! ratio falls with probability 1/2 whatever the noise, so the count below it is a binomial random
//! walk, and a look's interval [k-th smallest, k-th largest] of n holds it exactly when that walk
//! is in [k, n - k] at n. Whichever look the run stops at, for whatever reason, its interval
//! holds with at least the stated chance. Looks are strongly correlated, so this is far less
//! conservative than splitting the error evenly over them (Bonferroni).

use super::{order_confidence, order_k, paired_ratio, Ratio, TARGET};

/// The planned looks of a run that repeats until decided, and the level each look's interval
/// aims at so that all of them hold together with [`TARGET`].
#[derive(Debug, Clone, PartialEq)]
pub struct Looks {
    /// Round counts, increasing; empty for a run that looks once, at the end.
    rounds: Vec<usize>,
    per_look: f64,
}

impl Looks {
    /// One look, at the end: the interval at [`TARGET`] itself.
    pub const SINGLE: Looks = Looks {
        rounds: Vec::new(),
        per_look: TARGET,
    };

    /// Looks at `min` rounds, then about 1.25 times the last, up to `max` (always included).
    pub fn plan(min: usize, max: usize) -> Looks {
        let mut rounds = vec![min.max(1)];
        while *rounds.last().unwrap_or(&max) < max {
            let last = *rounds.last().unwrap_or(&max);
            rounds.push(((last as f64 * 1.25).ceil() as usize).clamp(last + 1, max));
        }
        Looks::at(rounds)
    }

    /// Looks at these round counts (increasing), with the per-look level that keeps them
    /// together at [`TARGET`]: the lowest such level, found by bisection (the joint chance only
    /// grows with it).
    pub fn at(rounds: Vec<usize>) -> Looks {
        Looks::aiming(rounds, TARGET)
    }

    /// The same looks, with the per-look level that keeps them together at `target` instead
    /// (a higher one: for a comparison chosen among several, each of which must hold).
    pub fn at_target(&self, target: f64) -> Looks {
        Looks::aiming(self.rounds.clone(), target)
    }

    fn aiming(rounds: Vec<usize>, target: f64) -> Looks {
        let mut looks = Looks {
            rounds,
            per_look: target,
        };
        if looks.rounds.len() > 1 {
            let (mut lo, mut hi) = (target, 1.0);
            for _ in 0..50 {
                looks.per_look = (lo + hi) / 2.0;
                if looks.planned_joint() >= target {
                    hi = looks.per_look;
                } else {
                    lo = looks.per_look;
                }
            }
            looks.per_look = hi;
        }
        looks
    }

    /// The planned round counts.
    pub fn rounds(&self) -> &[usize] {
        &self.rounds
    }

    /// How many looks (1 for a run that looks once).
    pub fn count(&self) -> usize {
        self.rounds.len().max(1)
    }

    /// The level each look's interval aims at.
    pub fn per_look(&self) -> f64 {
        self.per_look
    }

    /// The chance that every planned look holds the true ratio when the look at `n` rounds (the
    /// first planned one at or after `n`, so dropped rounds count) takes [x(k), x(n - k + 1)] and
    /// every other look its planned interval. For one look, the interval's own confidence.
    pub fn joint(&self, n: usize, k: usize) -> f64 {
        if self.rounds.len() <= 1 {
            return order_confidence(n, k);
        }
        let at = self
            .rounds
            .iter()
            .position(|&r| r >= n)
            .unwrap_or(self.rounds.len() - 1);
        let plan: Vec<(usize, usize)> = (self.rounds.iter().enumerate())
            .map(|(i, &r)| if i == at { (n, k) } else { (r, reach(r, self.per_look)) })
            .collect();
        walk(&plan)
    }

    fn planned_joint(&self) -> f64 {
        let plan: Vec<(usize, usize)> = self.rounds.iter().map(|&r| (r, reach(r, self.per_look))).collect();
        walk(&plan)
    }
}

/// The interval a look takes over the per-round ratios so far, with the confidence that it and
/// every other planned look of `looks` hold together (for one look, its own confidence).
pub fn at_look(ratios: &[f64], looks: &Looks) -> Option<Ratio> {
    let k = order_k(ratios.len(), looks.per_look());
    paired_ratio(ratios, looks.per_look()).map(|r| Ratio {
        confidence: looks.joint(ratios.len(), k),
        ..r
    })
}

/// Whether the whole interval lies within 1 ± `equivalence`: equal for the user's purpose.
pub fn within(r: &Ratio, equivalence: f64) -> bool {
    r.ci_low >= 1.0 - equivalence && r.ci_high <= 1.0 + equivalence
}

/// The stopping rule: whether an interval decides its verdict (equal within the bound, or a
/// winner whose interval excludes 1). In a run of several planned looks, an interval short of
/// the stated confidence decides nothing. A verdict's form and the rounds until decided both
/// ask this, and the simulation of the rule calls it.
pub fn settles(r: &Ratio, equivalence: f64, looks: usize) -> bool {
    let short = looks > 1 && r.confidence < TARGET - 1e-9;
    !short && (within(r, equivalence) || r.ci_low > 1.0 || r.ci_high < 1.0)
}

/// The largest k whose interval of n reaches `level`; 0 (no interval: the look cannot decide,
/// and cannot miss) when even [min, max] falls short.
fn reach(n: usize, level: f64) -> usize {
    (1..=n / 2)
        .take_while(|&k| order_confidence(n, k) >= level)
        .last()
        .unwrap_or(0)
}

/// P(k <= S_n <= n - k at every look (n, k)) for S the count of fair coin flips that came up
/// below: the chance every look's interval holds the median. Looks in increasing n.
fn walk(plan: &[(usize, usize)]) -> f64 {
    let mut p = vec![1.0f64]; // p[s] = P(S = s, every look so far held)
    let mut done = 0;
    for &(n, k) in plan {
        for _ in done..n.max(done) {
            let mut next = vec![0.0; p.len() + 1];
            for (s, q) in p.iter().enumerate() {
                next[s] += q / 2.0;
                next[s + 1] += q / 2.0;
            }
            p = next;
        }
        done = done.max(n);
        if k > 0 {
            for (s, q) in p.iter_mut().enumerate() {
                if s < k || s + k > done {
                    *q = 0.0;
                }
            }
        }
    }
    p.iter().sum()
}

#[cfg(test)]
mod tests;
