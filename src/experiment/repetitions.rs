//! How many repetitions of each cell run and in which order: `repetitions` (a count, or rounds
//! until decided with its `min`, `max` and budget) and `order`.

use std::num::NonZeroUsize;

use toml::Spanned;

use super::raw::{RawExperiment, DEFAULT_REPETITIONS};
use crate::plan::Order;
use crate::spec::{Fields, SpecError};

/// `repetitions`: a count, or a table that runs rounds until the verdicts are decided.
pub(super) fn repetitions(cx: &Fields, raw: &RawExperiment) -> Result<(NonZeroUsize, Option<super::Until>), SpecError> {
    use super::raw::RawReps;
    let Some(v) = &raw.repetitions else {
        return Ok((NonZeroUsize::new(DEFAULT_REPETITIONS).unwrap(), None));
    };
    let span = Some(v.span());
    let u = match v.get_ref() {
        RawReps::Count(n) => return Ok((cx.count("repetitions", &Spanned::new(v.span(), *n))?, None)),
        RawReps::Until(u) => u,
    };
    if u.until != "decided" {
        return cx.err(
            "repetitions.until",
            span,
            format!("unknown `{}`; the one rule is \"decided\"", u.until),
        );
    }
    let min = cx.count("repetitions.min", &Spanned::new(v.span(), u.min))?;
    let max = cx.count("repetitions.max", &Spanned::new(v.span(), u.max))?;
    if max < min {
        return cx.err("repetitions.max", span, format!("{max} is less than min = {min}"));
    }
    let budget = match u.time_budget_s {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 && s < 1e9 => Some(std::time::Duration::from_secs_f64(s)),
        Some(_) => {
            return cx.err(
                "repetitions.time_budget_s",
                span,
                "must be a positive number of seconds",
            )
        }
    };
    if raw.order.as_ref().is_some_and(|o| o.get_ref() != "paired") {
        return cx.err(
            "repetitions.until",
            span,
            "repetitions until decided need paired rounds (order = \"paired\", the default)",
        );
    }
    Ok((min, Some(super::Until { max: max.get(), budget })))
}

/// `order`: paired rounds (the default), a cell's repetitions together, interleaved or random.
pub(super) fn order(cx: &Fields, raw: &RawExperiment) -> Result<Order, SpecError> {
    Ok(match &raw.order {
        None => Order::Paired,
        Some(v) => match v.get_ref().as_str() {
            "paired" => Order::Paired,
            "cells" => Order::Cells,
            "interleaved" => Order::Interleaved,
            "random" => Order::Random,
            other => {
                return cx.err(
                    "order",
                    Some(v.span()),
                    format!("unknown order `{other}`; expected paired, cells, interleaved or random"),
                )
            }
        },
    })
}
