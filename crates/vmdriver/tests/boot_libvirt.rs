//! Root + QEMU + libvirt: boots the guest image and reaches its agent from a management
//! namespace (see `vmdriver::smoke`). Binaries: `COO_BENCH_COO_VNF`/`COO_BENCH_COO_CLICK`, else
//! the newest static or target/debug build. Skips with a printed reason when unavailable.

use std::time::Duration;

use vmdriver::image::binaries::locate;
use vmdriver::smoke::{self, SmokeError};

#[test]
fn guest_boots_under_libvirt_and_agent_answers() {
    let (agent, click) = match (
        locate("coo-vnf", "COO_BENCH_COO_VNF"),
        locate("coo-click", "COO_BENCH_COO_CLICK"),
    ) {
        (Ok(a), Ok(c)) => (a, c),
        (a, c) => {
            eprintln!("skipped: agent/coo-click binaries not built ({a:?}, {c:?}); cargo build");
            return;
        }
    };
    match smoke::run(&agent, &click, Duration::from_secs(90)) {
        Ok(r) => eprintln!(
            "accelerator {} ({}); boot-to-agent-ready {:.2} s; guest uptime at ready {:?} s; version {}",
            r.accel.accel,
            r.accel.reason,
            r.boot_to_ready.as_secs_f64(),
            r.guest_uptime_at_ready,
            r.version_body.trim()
        ),
        Err(SmokeError::Unavailable(why)) => eprintln!("skipped: {why}"),
        Err(SmokeError::Failed(m)) => panic!("{m}"),
    }
}
