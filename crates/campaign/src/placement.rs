//! CPU placement: which CPUs the generator, the sinks and the NFs (agents and the engines
//! they start) may run on. Pure: the caller passes the CPUs it may use.

use measure::CpuPlacement;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlacementError {
    #[error("--cpus {0:?}: expected GEN:SINK:NFS, each a CPU list like 0, 1-3 or 2,3 (or `none`)")]
    Syntax(String),
    #[error(
        "--cpus {spec:?}: CPU {cpu} is not available to this process (available: {available:?})"
    )]
    Unavailable {
        spec: String,
        cpu: usize,
        available: Vec<usize>,
    },
}

/// The placement for `available` CPUs, or the one `spec` (`GEN:SINK:NFS`) asks for.
/// `Ok(None)` = no pinning (`--cpus none`).
pub fn plan_placement(
    available: &[usize],
    spec: Option<&str>,
) -> Result<Option<CpuPlacement>, PlacementError> {
    let available: Vec<usize> = if available.is_empty() {
        vec![0]
    } else {
        available.to_vec()
    };
    if let Some(spec) = spec {
        if spec.trim() == "none" {
            return Ok(None);
        }
        let parts: Vec<&str> = spec.split(':').collect();
        let [g, s, n] = parts.as_slice() else {
            return Err(PlacementError::Syntax(spec.into()));
        };
        let mut lists = Vec::new();
        for p in [g, s, n] {
            let list = parse_cpu_list(p).ok_or_else(|| PlacementError::Syntax(spec.into()))?;
            if let Some(cpu) = list.iter().find(|c| !available.contains(c)) {
                return Err(PlacementError::Unavailable {
                    spec: spec.into(),
                    cpu: *cpu,
                    available: available.clone(),
                });
            }
            lists.push(list);
        }
        let nfs = lists.pop().unwrap_or_default();
        let sinks = lists.pop().unwrap_or_default();
        let generator = lists.pop().unwrap_or_default();
        return Ok(Some(CpuPlacement {
            available,
            generator,
            sinks,
            nfs,
            rationale: "chosen with --cpus".into(),
            source: "--cpus".into(),
        }));
    }
    let (generator, sinks, nfs, rationale) = match available.as_slice() {
        [only] => (
            vec![*only],
            vec![*only],
            vec![*only],
            "one CPU: everything shares it (results are CPU-bound and say little about engines)"
                .to_string(),
        ),
        [a, b] => (
            vec![*a],
            vec![*b],
            vec![*b],
            "two CPUs: the generator has one of its own (it also carries the kernel's work of \
             the first hop, done in softirq on the sending CPU), so no NF ever preempts it and \
             its pacing stays punctual; sinks and NFs share the other"
                .to_string(),
        ),
        [a, b, rest @ ..] => (
            vec![*a],
            vec![*b],
            rest.to_vec(),
            "generator and sink on a CPU each, NFs on the rest".to_string(),
        ),
        [] => unreachable!("available is never empty"),
    };
    Ok(Some(CpuPlacement {
        available,
        generator,
        sinks,
        nfs,
        rationale,
        source: "auto".into(),
    }))
}

/// `0`, `1-3`, `0,2-3` → CPU numbers (None when malformed or empty).
pub fn parse_cpu_list(s: &str) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.parse().ok()?, b.parse().ok()?);
                if a > b || b - a > 4096 {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().ok()?),
        }
    }
    out.sort_unstable();
    out.dedup();
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn automatic_plans_by_cpu_count() {
        let p = plan_placement(&[0, 1], None).unwrap().unwrap();
        assert_eq!((p.generator, p.sinks, p.nfs), (vec![0], vec![1], vec![1]));
        let p = plan_placement(&[0, 1, 2, 3], None).unwrap().unwrap();
        assert_eq!(
            (p.generator, p.sinks, p.nfs),
            (vec![0], vec![1], vec![2, 3])
        );
        let p = plan_placement(&[5], None).unwrap().unwrap();
        assert_eq!(p.nfs, vec![5]);
    }

    #[test]
    fn explicit_plans_are_checked() {
        let p = plan_placement(&[0, 1], Some("1:0:0-1")).unwrap().unwrap();
        assert_eq!(
            (p.generator, p.sinks, p.nfs),
            (vec![1], vec![0], vec![0, 1])
        );
        assert_eq!(plan_placement(&[0, 1], Some("none")).unwrap(), None);
        assert!(matches!(
            plan_placement(&[0, 1], Some("0:1")),
            Err(PlacementError::Syntax(_))
        ));
        assert!(matches!(
            plan_placement(&[0, 1], Some("0:1:7")),
            Err(PlacementError::Unavailable { cpu: 7, .. })
        ));
        assert_eq!(parse_cpu_list("0,2-3"), Some(vec![0, 2, 3]));
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list(""), None);
    }
}
