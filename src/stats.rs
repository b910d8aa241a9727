//! Statistics over repetitions: descriptive numbers, a seeded bootstrap interval of the median,
//! outliers by modified Z-score, and ratios of medians (speedup) with their intervals.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::measure::percentile;

/// Bootstrap resamples: enough for stable 2.5/97.5 percentiles at these sample sizes.
const RESAMPLES: usize = 2000;
/// Fixed seed: the same data gives the same interval on every machine and every run.
const SEED: u64 = 0x5EED_B007;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub n: usize,
    pub median: f64,
    pub mean: f64,
    /// Sample standard deviation (n - 1); 0 for a single value.
    pub std_dev: f64,
    pub min: f64,
    pub max: f64,
    /// 95 % bootstrap percentile interval of the median.
    pub ci_low: f64,
    pub ci_high: f64,
}

/// Describes `values` (none of them NaN); `None` when empty.
pub fn summarize(values: &[f64]) -> Option<Summary> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = if n > 1 {
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64
    } else {
        0.0
    };
    let (ci_low, ci_high) = bootstrap(&[values], |s| median(s[0]));
    Some(Summary {
        n,
        median: median(values),
        mean,
        std_dev: var.sqrt(),
        min: values.iter().cloned().fold(f64::INFINITY, f64::min),
        max: values.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
        ci_low,
        ci_high,
    })
}

pub fn median(values: &[f64]) -> f64 {
    percentile(values, 50.0).unwrap_or(f64::NAN)
}

/// A ratio of medians `num / den` with its 95 % interval, both samples resampled together.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ratio {
    pub value: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

impl Ratio {
    pub fn scale(self, k: f64) -> Ratio {
        Ratio {
            value: self.value * k,
            ci_low: self.ci_low * k,
            ci_high: self.ci_high * k,
        }
    }
}

pub fn ratio_of_medians(num: &[f64], den: &[f64]) -> Option<Ratio> {
    if num.is_empty() || den.is_empty() {
        return None;
    }
    let value = median(num) / median(den);
    let (ci_low, ci_high) = bootstrap(&[num, den], |s| median(s[0]) / median(s[1]));
    Some(Ratio { value, ci_low, ci_high })
}

/// Percentile bootstrap: resample each sample with replacement, apply `stat`, take the
/// 2.5th and 97.5th percentiles.
fn bootstrap(samples: &[&[f64]], stat: impl Fn(&[&[f64]]) -> f64) -> (f64, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut bufs: Vec<Vec<f64>> = samples.iter().map(|s| vec![0.0; s.len()]).collect();
    let mut stats = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        for (buf, s) in bufs.iter_mut().zip(samples) {
            for slot in buf.iter_mut() {
                *slot = s[(rng.next_u64() % s.len() as u64) as usize];
            }
        }
        let views: Vec<&[f64]> = bufs.iter().map(|b| b.as_slice()).collect();
        let v = stat(&views);
        if v.is_finite() {
            stats.push(v);
        }
    }
    (
        percentile(&stats, 2.5).unwrap_or(f64::NAN),
        percentile(&stats, 97.5).unwrap_or(f64::NAN),
    )
}

/// Modified Z-scores (Iglewicz and Hoaglin): 0.6745 (x - median) / MAD. `None` when the
/// MAD is 0 (more than half the values equal), where the score is undefined.
pub fn modified_z(values: &[f64]) -> Option<Vec<f64>> {
    let m = median(values);
    let deviations: Vec<f64> = values.iter().map(|v| (v - m).abs()).collect();
    let mad = median(&deviations);
    (mad > 0.0).then(|| values.iter().map(|v| 0.6745 * (v - m) / mad).collect())
}

/// Indices of outliers: |modified Z| > 3.5 (the usual cut-off, as hyperfine uses).
pub fn outliers(values: &[f64]) -> Vec<usize> {
    modified_z(values).map_or_else(Vec::new, |z| {
        z.iter()
            .enumerate()
            .filter(|(_, z)| z.abs() > 3.5)
            .map(|(i, _)| i)
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptive_numbers_match_known_values() {
        let s = summarize(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!((s.n, s.median, s.mean, s.min, s.max), (8, 4.5, 5.0, 2.0, 9.0));
        // Sample standard deviation: sqrt(32 / 7).
        assert!((s.std_dev - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert!(s.ci_low <= s.median && s.median <= s.ci_high);
        assert!(s.ci_low >= 4.0 && s.ci_high <= 7.0, "{s:?}");
        let one = summarize(&[3.0]).unwrap();
        assert_eq!((one.std_dev, one.ci_low, one.ci_high), (0.0, 3.0, 3.0));
        assert!(summarize(&[]).is_none());
    }

    #[test]
    fn bootstrap_is_seeded_and_narrows_with_more_data() {
        let few: Vec<f64> = (0..5).map(|i| 10.0 + (i as f64 * 0.7).sin()).collect();
        let many: Vec<f64> = (0..200).map(|i| 10.0 + (i as f64 * 0.7).sin()).collect();
        assert_eq!(summarize(&few), summarize(&few));
        let (a, b) = (summarize(&few).unwrap(), summarize(&many).unwrap());
        assert!(b.ci_high - b.ci_low < a.ci_high - a.ci_low);
    }

    #[test]
    fn ratio_of_medians_carries_an_interval() {
        let t1 = [10.0, 10.2, 9.8, 10.1, 9.9];
        let t2 = [5.0, 5.1, 4.9, 5.05, 4.95];
        let r = ratio_of_medians(&t1, &t2).unwrap();
        assert_eq!(r.value, 2.0);
        assert!(
            r.ci_low < 2.0 && r.ci_high > 2.0 && r.ci_low > 1.85 && r.ci_high < 2.15,
            "{r:?}"
        );
        let e = r.scale(0.5);
        assert_eq!(e.value, 1.0);
    }

    #[test]
    fn outliers_by_modified_z_score() {
        // median 10.25, MAD 0.5: 0.6745 * 4.25 / 0.5 = 5.733 for 14.5; 11 gives 1.01.
        let v = [9.5, 10.0, 10.5, 10.0, 9.5, 10.5, 14.5, 11.0];
        assert_eq!(outliers(&v), vec![6]);
        let z = modified_z(&v).unwrap();
        assert!((z[6] - 5.73325).abs() < 1e-9, "{}", z[6]);
        assert!(
            outliers(&[1.0, 1.0, 1.0, 5.0]).is_empty(),
            "MAD 0: undefined, nothing flagged"
        );
        assert!(outliers(&[1.0, 2.0, 3.0, 4.0, 5.0]).is_empty());
    }
}
