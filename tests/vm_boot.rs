//! Root + QEMU + libvirt: boots our guest image (with this build's coo-vnf and coo-click) as a
//! transient libvirt domain — TCG unless KVM really works — and gets an answer from the agent
//! over the management network from a management namespace; then checks zero residue.
//! Skips with a printed reason when root, QEMU, libvirt or the kernel package are unavailable.

use std::path::Path;
use std::time::Duration;

use vmdriver::smoke::{self, SmokeError};

#[test]
fn vm_boots_and_agent_answers_from_management_netns() {
    let agent = Path::new(env!("CARGO_BIN_EXE_coo-vnf"));
    let click = Path::new(env!("CARGO_BIN_EXE_coo-click"));
    match smoke::run(agent, click, Duration::from_secs(90)) {
        Ok(r) => {
            assert!(!r.version_body.trim().is_empty());
            eprintln!(
                "accelerator {} ({}); boot-to-agent-ready {:.2} s (libvirt create {:.2} s); guest uptime at ready {:?} s",
                r.accel.accel,
                r.accel.reason,
                r.boot_to_ready.as_secs_f64(),
            r.create_call.as_secs_f64(),
                r.guest_uptime_at_ready
            );
        }
        Err(SmokeError::Unavailable(why)) => eprintln!("skipped: {why}"),
        Err(SmokeError::Failed(m)) => panic!("{m}"),
    }
}
