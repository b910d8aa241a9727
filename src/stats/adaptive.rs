//! Repetitions until decided, without inflating the stated confidence. The runner looks at the
//! verdicts only at planned points (a geometric schedule of round counts, [`looks`]) and each
//! look's interval aims at 1 - α/L for L planned looks (Bonferroni): whichever look the run
//! stops at, the chance that any look's interval misses the true ratio is at most α, so the
//! interval it reports holds with at least 1 - α, however the stopping depended on the data.

/// The round counts at which verdicts are looked at: `min`, then about 1.5 times the last,
/// up to `max` (always included).
pub fn looks(min: usize, max: usize) -> Vec<usize> {
    let mut out = vec![min.max(1)];
    while *out.last().unwrap_or(&max) < max {
        let last = *out.last().unwrap_or(&max);
        out.push(((last as f64 * 1.5).ceil() as usize).clamp(last + 1, max));
    }
    out
}

/// What each look's interval aims at so that all of `looks` together hold with `overall`.
pub fn look_target(overall: f64, looks: usize) -> f64 {
    1.0 - (1.0 - overall) / looks.max(1) as f64
}

/// The confidence the reported interval has at least, from each look's own (exact) one.
pub fn overall(look_confidence: f64, looks: usize) -> f64 {
    (1.0 - looks.max(1) as f64 * (1.0 - look_confidence)).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{paired_ratio, TARGET};
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn looks_grow_geometrically_to_the_maximum() {
        assert_eq!(looks(6, 60), [6, 9, 14, 21, 32, 48, 60]);
        assert_eq!(looks(6, 6), [6]);
        assert!((look_target(0.95, 7) - (1.0 - 0.05 / 7.0)).abs() < 1e-12);
        assert!((overall(look_target(0.95, 7), 7) - 0.95).abs() < 1e-12);
    }

    fn normal(rng: &mut ChaCha8Rng) -> f64 {
        let u = |rng: &mut ChaCha8Rng| ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let (a, b) = (u(rng), u(rng));
        (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
    }

    /// One simulated run of the stopping rule: paired rounds under noise like this machine's
    /// (fast multiplicative noise, CV about 11 %, and a slow drift both sides share), looked at
    /// on the schedule, stopping once the interval excludes 1 or lies within ±5 %. Returns the
    /// final interval and whether it stopped decided.
    fn run(rng: &mut ChaCha8Rng, truth: f64, min: usize, max: usize) -> (f64, f64, bool) {
        let plan = looks(min, max);
        let target = look_target(TARGET, plan.len());
        let (mut ratios, mut drift) = (Vec::new(), 1.0f64);
        for &n in &plan {
            while ratios.len() < n {
                drift *= (0.08 * normal(rng)).exp();
                let a = truth * drift * (0.11 * normal(rng)).exp();
                let b = drift * (0.11 * normal(rng)).exp();
                ratios.push(a / b);
            }
            let r = paired_ratio(&ratios, target).expect("rounds");
            // As the runner decides: only an interval that reaches the look's confidence.
            let decided = r.confidence >= target
                && (r.ci_low > 1.0 || r.ci_high < 1.0 || (r.ci_low >= 0.95 && r.ci_high <= 1.05));
            if decided || n == max {
                return (r.ci_low, r.ci_high, decided);
            }
        }
        unreachable!("the last look is the maximum")
    }

    #[test]
    fn stopping_when_decided_keeps_the_stated_confidence() {
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let trials = 4000;
        for truth in [1.0, 1.05] {
            let (mut covered, mut decided, mut wrong_winner) = (0, 0, 0);
            for _ in 0..trials {
                let (lo, hi, d) = run(&mut rng, truth, 6, 60);
                covered += usize::from(lo <= truth && truth <= hi);
                decided += usize::from(d);
                // With no difference, a winner is a false claim.
                wrong_winner += usize::from(truth == 1.0 && (lo > 1.0 || hi < 1.0));
            }
            let coverage = covered as f64 / trials as f64;
            println!(
                "truth {truth}: covered {coverage:.3} (stated >= {TARGET}), decided {:.3}, false winners {:.3}",
                decided as f64 / trials as f64,
                wrong_winner as f64 / trials as f64
            );
            assert!(
                coverage >= TARGET,
                "truth {truth}: covered {coverage}, stated at least {TARGET}"
            );
            assert!((wrong_winner as f64 / trials as f64) <= 1.0 - TARGET);
        }
    }
}
