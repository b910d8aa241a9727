//! What a verdict says, in one of three forms: a winner, equal within the bound, or undecided
//! with what it rules out and the rounds still needed.

use super::{Side, Verdict};
use crate::stats::{adaptive, Ratio};

/// What a verdict says: a winner, equal within the bound, or undecided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Form {
    Faster(Side),
    /// The whole interval lies within [1 - e, 1 + e].
    Equal,
    /// Neither: no difference beyond `beyond` (a fraction) is ruled out; about `more` rounds
    /// would settle it, from the spread seen so far.
    Undecided {
        beyond: f64,
        more: Option<usize>,
    },
}

impl Verdict {
    /// Equal when the whole interval lies within 1 ± e (a real but smaller difference is
    /// equal for the user's purpose), else faster when it excludes 1, else undecided. In a run
    /// that repeats until decided, an interval short of the stated confidence decides nothing.
    pub fn form(&self) -> Option<Form> {
        let r = self.ratio?;
        let e = self.equivalence;
        let undecided = Form::Undecided {
            beyond: (1.0 - r.ci_low).max(r.ci_high - 1.0),
            more: more_rounds(r, e, self.rounds),
        };
        Some(if !adaptive::settles(&r, e, self.looks) {
            undecided
        } else if adaptive::within(&r, e) {
            Form::Equal
        } else if r.ci_low > 1.0 {
            Form::Faster(Side::A)
        } else {
            Form::Faster(Side::B)
        })
    }
}

/// Rounds still needed to settle an undecided verdict, from its spread: an interval's width
/// shrinks as 1/sqrt(n), and it settles once its half-width is below the distance to 1 (a
/// winner) or to the bound (equal), whichever is nearer.
pub(super) fn more_rounds(r: Ratio, e: f64, n: usize) -> Option<usize> {
    let half = (r.ci_high - r.ci_low) / 2.0;
    let off = (r.value - 1.0).abs();
    let target = off.max(e - off);
    if n == 0 || target <= 1e-9 || half <= 0.0 {
        return None;
    }
    let total = (n as f64 * (half / target).powi(2)).ceil() as usize;
    Some(total.saturating_sub(n).max(1))
}
