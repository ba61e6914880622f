//! Walking the router graph from an element's ports, like Click's `Router::visit_upstream`
//! and `visit_downstream` with an `ElementNeighborhoodTracker`: breadth-first through
//! connections, and through each reached element along its flow code.

use crate::lang::FlatConnection;
use crate::router::{flow_linked, processing_codes};

/// The router graph as the walk sees it.
pub(crate) struct Graph<'a> {
    /// Every connection of the router.
    pub connections: &'a [FlatConnection],
    /// (inputs, outputs) of element `i`.
    pub ports: &'a dyn Fn(usize) -> (usize, usize),
    /// Flow code of element `i`.
    pub flow_code: &'a dyn Fn(usize) -> &'static str,
}

impl Graph<'_> {
    /// Elements within `diameter` connections of `start`'s output (`downstream`) or input
    /// ports (`port`, or all of them), in the order the walk reaches them, each once.
    pub fn neighborhood(
        &self,
        start: usize,
        downstream: bool,
        port: Option<usize>,
        diameter: usize,
    ) -> Vec<usize> {
        let side = |i: usize| {
            let (ni, no) = (self.ports)(i);
            if downstream {
                no
            } else {
                ni
            }
        };
        let mut sources: Vec<(usize, usize)> = match port {
            None => (0..side(start)).map(|p| (start, p)).collect(),
            Some(p) if p < side(start) => vec![(start, p)],
            Some(_) => Vec::new(),
        };
        let mut seen_ports = std::collections::HashSet::new();
        let mut found: Vec<usize> = Vec::new();
        let mut distance = 1;
        while !sources.is_empty() {
            let mut next = Vec::new();
            for &(e, p) in &sources {
                let mut peers: Vec<(usize, usize)> = self
                    .connections
                    .iter()
                    .filter_map(|c| {
                        if downstream && (c.from, c.from_port) == (e, p) {
                            Some((c.to, c.to_port))
                        } else if !downstream && (c.to, c.to_port) == (e, p) {
                            Some((c.from, c.from_port))
                        } else {
                            None
                        }
                    })
                    .collect();
                peers.sort_unstable();
                for (pe, pp) in peers {
                    if !seen_ports.insert((pe, pp)) {
                        continue;
                    }
                    if distance <= diameter && !found.contains(&pe) {
                        found.push(pe);
                    }
                    if distance < diameter {
                        next.extend(self.flow(pe, downstream, pp).map(|q| (pe, q)));
                    }
                }
            }
            sources = next;
            distance += 1;
        }
        found
    }

    /// Ports on the far side of element `e` that port `port` flows to (inputs → outputs
    /// walking downstream, outputs → inputs walking upstream).
    fn flow(&self, e: usize, downstream: bool, port: usize) -> impl Iterator<Item = usize> {
        let (fi, fo) = processing_codes((self.flow_code)(e));
        let (ni, no) = (self.ports)(e);
        let far = if downstream { no } else { ni };
        (0..far).filter(move |&q| {
            if downstream {
                flow_linked(fi, fo, port, q)
            } else {
                flow_linked(fi, fo, q, port)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(from: usize, from_port: usize, to: usize, to_port: usize) -> FlatConnection {
        FlatConnection {
            from,
            from_port,
            to,
            to_port,
        }
    }

    #[test]
    fn walks_by_distance_and_port() {
        // 0 -> 1 -> 2 -> [0]3 ; 4 -> [1]3 ; 3[0] -> 5 ; 3[1] -> 6. Element 7 ("#/#") is
        // off the path.
        let conns = [conn(0, 0, 1, 0), conn(1, 0, 2, 0), conn(2, 0, 3, 0)];
        let conns = [
            &conns[..],
            &[conn(4, 0, 3, 1), conn(3, 0, 5, 0), conn(3, 1, 6, 0)],
        ]
        .concat();
        let ports = |i: usize| match i {
            3 => (2, 2),
            0 | 4 => (0, 1),
            5 | 6 => (1, 0),
            _ => (1, 1),
        };
        let g = Graph {
            connections: &conns,
            ports: &ports,
            flow_code: &|_| "x/x",
        };
        assert_eq!(g.neighborhood(3, false, None, 1), [2, 4]);
        assert_eq!(g.neighborhood(3, false, None, 2), [2, 4, 1]);
        assert_eq!(g.neighborhood(3, false, Some(1), 3), [4]);
        assert_eq!(g.neighborhood(3, true, Some(1), 1), [6]);
        assert!(g.neighborhood(3, true, Some(2), 1).is_empty());
    }
}
