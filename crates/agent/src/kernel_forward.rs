//! `kernel-forward`: no user-space NF. Each data interface's ingress is redirected to the
//! other one with tc (`matchall action mirred egress redirect`), inside the agent's network
//! namespace; the guard removes the ingress qdiscs again.

use std::process::Command;
use std::sync::{Arc, Mutex};

/// Runs `tc` commands (trait so tests can record instead of touching the kernel).
pub trait TcOps: Send + Sync {
    /// Runs `tc ARGS...`; `Err` carries tc's stderr.
    fn tc(&self, args: &[&str]) -> Result<(), String>;
}

/// The real `tc` binary.
#[derive(Debug, Default)]
pub struct RealTc;

impl TcOps for RealTc {
    fn tc(&self, args: &[&str]) -> Result<(), String> {
        let out = Command::new("tc")
            .args(args)
            .output()
            .map_err(|e| format!("cannot run tc: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "tc {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}

/// Records every call; fails calls whose joined args contain `fail_on`.
#[derive(Debug, Default)]
pub struct RecordingTc {
    pub calls: Mutex<Vec<String>>,
    pub fail_on: Option<String>,
}

impl TcOps for RecordingTc {
    fn tc(&self, args: &[&str]) -> Result<(), String> {
        let line = args.join(" ");
        if let Ok(mut c) = self.calls.lock() {
            c.push(line.clone());
        }
        match &self.fail_on {
            Some(f) if line.contains(f.as_str()) => Err(format!("tc {line} failed")),
            _ => Ok(()),
        }
    }
}

/// Active kernel forwarding between two interfaces; undone on `stop` or drop.
pub struct KernelForward {
    ifs: [String; 2],
    tc: Arc<dyn TcOps>,
    active: bool,
}

impl std::fmt::Debug for KernelForward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelForward")
            .field("ifs", &self.ifs)
            .finish()
    }
}

impl KernelForward {
    /// Installs the redirects; on failure removes whatever was installed.
    pub fn start(interfaces: &[String], tc: Arc<dyn TcOps>) -> Result<Self, String> {
        let [a, b] = interfaces else {
            return Err(format!(
                "kernel-forward needs exactly 2 data interfaces, got {}",
                interfaces.len()
            ));
        };
        let mut kf = KernelForward {
            ifs: [a.clone(), b.clone()],
            tc,
            active: true,
        };
        for (from, to) in [(a, b), (b, a)] {
            // A crashed agent may have left the qdisc behind; the namespace is ours.
            let _ = kf.tc.tc(&["qdisc", "del", "dev", from, "ingress"]);
            let r = kf
                .tc
                .tc(&["qdisc", "add", "dev", from, "ingress"])
                .and_then(|()| {
                    kf.tc
                        .tc(&[
                            "filter", "add", "dev", from, "ingress", "matchall", "action",
                            "mirred", "egress", "redirect", "dev", to,
                        ])
                        // Kernels without cls_matchall: a u32 filter matching every packet.
                        .or_else(|_| {
                            kf.tc.tc(&[
                                "filter", "add", "dev", from, "ingress", "protocol", "all", "u32",
                                "match", "u32", "0", "0", "action", "mirred", "egress", "redirect",
                                "dev", to,
                            ])
                        })
                });
            if let Err(e) = r {
                kf.undo();
                return Err(e);
            }
        }
        Ok(kf)
    }

    fn undo(&mut self) -> Vec<String> {
        let mut errors = Vec::new();
        if self.active {
            self.active = false;
            for i in &self.ifs {
                if let Err(e) = self.tc.tc(&["qdisc", "del", "dev", i, "ingress"]) {
                    errors.push(e);
                }
            }
        }
        errors
    }

    /// Removes the redirects; returns tc's complaints, if any.
    pub fn stop(mut self) -> Result<(), String> {
        let errors = self.undo();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    pub fn interfaces(&self) -> &[String; 2] {
        &self.ifs
    }
}

impl Drop for KernelForward {
    fn drop(&mut self) {
        let _ = self.undo();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ifs() -> Vec<String> {
        vec!["a0".into(), "b1".into()]
    }

    #[test]
    fn installs_both_directions_and_undoes() {
        let rec = Arc::new(RecordingTc::default());
        let kf = KernelForward::start(&ifs(), rec.clone()).unwrap();
        kf.stop().unwrap();
        let calls = rec.calls.lock().unwrap().clone();
        assert_eq!(
            calls,
            vec![
                "qdisc del dev a0 ingress",
                "qdisc add dev a0 ingress",
                "filter add dev a0 ingress matchall action mirred egress redirect dev b1",
                "qdisc del dev b1 ingress",
                "qdisc add dev b1 ingress",
                "filter add dev b1 ingress matchall action mirred egress redirect dev a0",
                "qdisc del dev a0 ingress",
                "qdisc del dev b1 ingress",
            ]
        );
    }

    #[test]
    fn failure_rolls_back() {
        let rec = Arc::new(RecordingTc {
            fail_on: Some("dev b1 ingress".into()),
            ..Default::default()
        });
        assert!(KernelForward::start(&ifs(), rec.clone()).is_err());
        let calls = rec.calls.lock().unwrap().clone();
        assert_eq!(
            calls[calls.len() - 2..],
            ["qdisc del dev a0 ingress", "qdisc del dev b1 ingress"]
        );
    }

    #[test]
    fn falls_back_to_u32_without_matchall() {
        let rec = Arc::new(RecordingTc {
            fail_on: Some("matchall".into()),
            ..Default::default()
        });
        KernelForward::start(&ifs(), rec.clone())
            .unwrap()
            .stop()
            .unwrap();
        let calls = rec.calls.lock().unwrap().clone();
        assert!(calls.contains(
            &"filter add dev a0 ingress protocol all u32 match u32 0 0 action mirred egress redirect dev b1".to_owned()
        ));
    }

    #[test]
    fn drop_undoes_and_needs_two() {
        let rec = Arc::new(RecordingTc::default());
        drop(KernelForward::start(&ifs(), rec.clone()).unwrap());
        assert_eq!(
            rec.calls.lock().unwrap().last().unwrap(),
            "qdisc del dev b1 ingress"
        );
        assert!(KernelForward::start(&["x".to_string()], rec).is_err());
    }
}
