//! What a result may be used for: labels for results bounded by the measurement, and the
//! reference rate of the common latency loads.

use measure::report::{
    FrameSize, FrameSizeResult, Limit, VariantReport, VariantRole, VariantStatus,
};
use measure::{ResultFlag, SoundnessFlag};

/// The label of a result the measurement (not the chain) bounded, or None when it describes
/// the chain. The ceiling is always labelled: it is the measurement's own limit.
pub(crate) fn classify_limits(
    r: &FrameSizeResult,
    role: VariantRole,
    ceiling_ndr: Option<f64>,
    margin_pct: f64,
) -> Option<Limit> {
    let median = r.ndr.as_ref().map(|a| a.median);
    let flagged = r
        .repetitions
        .iter()
        .filter_map(|rep| rep.ndr.as_ref())
        .flat_map(|g| g.flags.iter())
        .find_map(|f| match f {
            ResultFlag::MeasurementLimited { ceiling_pps } => Some(Some(*ceiling_pps)),
            ResultFlag::AtMaxRate => Some(None),
            _ => None,
        });
    let sink_dropped = r.repetitions.iter().flat_map(|rep| &rep.trials).any(|t| {
        t.flags
            .iter()
            .any(|f| matches!(f, SoundnessFlag::SinkBottleneck { .. }))
    });
    match flagged {
        Some(Some(_)) if sink_dropped => return Some(Limit::Sink),
        Some(Some(ceiling_pps)) => return Some(Limit::Generator { ceiling_pps }),
        Some(None) => return Some(Limit::MaxRate),
        None => {}
    }
    let median = median?;
    if role == VariantRole::Ceiling {
        return Some(Limit::Ceiling {
            ceiling_pps: median,
            margin_pct: 0.0,
        });
    }
    let ceiling = ceiling_ndr?;
    // The ceiling is one generator's; a bidirectional result had the generator CPUs send its
    // rate both ways, so the frames they sent in total are compared with it.
    let ways = if r.directions.is_some() { 2.0 } else { 1.0 };
    (median * ways >= ceiling * (1.0 - margin_pct / 100.0)).then_some(Limit::Ceiling {
        ceiling_pps: ceiling,
        margin_pct,
    })
}

/// The measured variant (not the ceiling) with the lowest sound NDR at `size`.
pub(crate) fn reference_ndr<'a>(
    variants: impl Iterator<Item = &'a VariantReport>,
    size: FrameSize,
) -> Option<(String, f64)> {
    variants
        .filter(|v| v.role != VariantRole::Ceiling && v.status == VariantStatus::Measured)
        .filter_map(|v| Some((v.name.clone(), v.result(size)?.sound_ndr()?)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use measure::report::Repetition;
    use measure::{Goal, GoalResult};

    fn result(ndrs: &[f64], flags: Vec<ResultFlag>) -> FrameSizeResult {
        let reps = ndrs
            .iter()
            .map(|n| Repetition {
                directions: None,
                ndr: Some(GoalResult {
                    goal: Goal::Ndr,
                    loss_threshold_pct: 0.001,
                    rate_pps: Some(*n),
                    upper_pps: Some(n * 1.005),
                    loss_pct: Some(0.0),
                    flags: flags.clone(),
                    lower_trials: 2,
                    lower_failed_trials: 0,
                    upper_trials: 2,
                    upper_failed_trials: 2,
                }),
                pdr: None,
                trials: vec![],
            })
            .collect();
        FrameSizeResult::new(FrameSize::Bytes(64), reps, vec![])
    }

    #[test]
    fn a_flagged_search_is_generator_limited_and_near_ceiling_is_at_ceiling() {
        let r = result(
            &[1.0e5],
            vec![ResultFlag::MeasurementLimited { ceiling_pps: 1.0e5 }],
        );
        assert!(matches!(
            classify_limits(&r, VariantRole::Baseline, None, 5.0),
            Some(Limit::Generator { .. })
        ));
        let r = result(&[0.97e6, 0.98e6, 0.99e6], vec![]);
        assert!(matches!(
            classify_limits(&r, VariantRole::Variant, Some(1.0e6), 5.0),
            Some(Limit::Ceiling { .. })
        ));
        assert_eq!(
            classify_limits(&r, VariantRole::Variant, Some(1.2e6), 5.0),
            None
        );
        // The ceiling itself is never a denominator.
        assert!(classify_limits(&r, VariantRole::Ceiling, None, 5.0).is_some());
    }

    #[test]
    fn a_bidirectional_result_counts_both_generators_against_the_ceiling() {
        use measure::report::{DirectionResult, Directions};
        let one = DirectionResult {
            ndr: None,
            pdr: None,
            ndr_is_lower_bound: false,
            loss_at_ndr_pct: None,
        };
        let mut r = result(&[0.5e6, 0.5e6, 0.5e6], vec![]);
        assert_eq!(
            classify_limits(&r, VariantRole::Variant, Some(1.0e6), 5.0),
            None
        );
        // 0.5 Mpps each way = 1 Mpps from the generator CPUs: what one generator reached.
        r.directions = Some(Directions {
            forward: one.clone(),
            reverse: one,
        });
        assert!(matches!(
            classify_limits(&r, VariantRole::Variant, Some(1.0e6), 5.0),
            Some(Limit::Ceiling { .. })
        ));
    }
}
