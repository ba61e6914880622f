//! Per-NF evidence around a trial: faults (agent gone, engine stopped) and counter deltas.

use std::collections::BTreeMap;

use measure::NfCounters;
use vnf_client::Counters;

/// Counters as read from every agent (or why an agent did not answer).
pub type CounterReads = BTreeMap<String, Result<Counters, String>>;

/// What went wrong with a VNF around one trial: an agent that stopped answering, or an
/// engine that was running before and is not after (crashed or killed).
pub(crate) fn nf_faults(before: &CounterReads, after: &CounterReads) -> Vec<String> {
    let mut out = Vec::new();
    for (id, a) in after {
        let b = before.get(id);
        match (b, a) {
            (Some(Err(e)), _) => out.push(format!(
                "VNF {id}: agent not answering before the trial ({e})"
            )),
            (_, Err(e)) => out.push(format!(
                "VNF {id}: agent stopped answering during the trial ({e})"
            )),
            (Some(Ok(b)), _) if !b.running => out.push(format!(
                "VNF {id}: engine {} not running before the trial (crashed or killed)",
                b.engine
            )),
            (Some(Ok(_)), Ok(a)) if !a.running => out.push(format!(
                "VNF {id}: engine {} stopped during the trial (crashed or killed)",
                a.engine
            )),
            _ => {}
        }
    }
    out
}

/// Per-NF in/out/dropped over one trial from the agents' interface counters.
pub(crate) fn nf_deltas(
    before: &BTreeMap<String, Counters>,
    after: &BTreeMap<String, Counters>,
) -> Vec<NfCounters> {
    let mut out = Vec::new();
    for (id, a) in after {
        let Some(b) = before.get(id) else { continue };
        if a.interfaces.is_empty() && b.interfaces.is_empty() {
            continue;
        }
        let sum = |c: &Counters, f: fn(&vnf_client::InterfaceCounters) -> u64| {
            c.interfaces.iter().map(f).sum::<u64>()
        };
        let packets_in = sum(a, |i| i.rx_packets).saturating_sub(sum(b, |i| i.rx_packets));
        let packets_out = sum(a, |i| i.tx_packets).saturating_sub(sum(b, |i| i.tx_packets));
        // Click handlers that count packets (Counter.count, Queue.drops, ...), as deltas.
        let mut elements = BTreeMap::new();
        for e in &a.elements {
            for (h, v) in &e.handlers {
                if !matches!(h.as_str(), "count" | "drops" | "highwater_length") {
                    continue;
                }
                let (Ok(after_v), Some(before_v)) = (
                    v.trim().parse::<u64>(),
                    b.elements
                        .iter()
                        .find(|x| x.name == e.name)
                        .and_then(|x| x.handlers.get(h))
                        .and_then(|x| x.trim().parse::<u64>().ok()),
                ) else {
                    continue;
                };
                let delta = if h == "highwater_length" {
                    after_v
                } else {
                    after_v.saturating_sub(before_v)
                };
                elements.insert(format!("{}.{h}", e.name), delta);
            }
        }
        out.push(NfCounters {
            vnf: id.clone(),
            packets_in,
            packets_out,
            dropped: packets_in.saturating_sub(packets_out),
            source: format!("interfaces ({})", a.engine),
            elements,
        });
    }
    out
}

/// The counters of the agents that answered.
pub(crate) fn answered(reads: &CounterReads) -> BTreeMap<String, Counters> {
    reads
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.as_ref().ok()?.clone())))
        .collect()
}
