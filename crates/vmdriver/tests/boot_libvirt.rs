//! Root + QEMU + libvirt: boots the guest image and reaches its agent from a management
//! namespace (see `vmdriver::smoke`). Binaries: `COO_BENCH_COO_VNF`/`COO_BENCH_COO_CLICK`, else
//! the newest static or target/debug build. Skips with a printed reason when unavailable.

use std::time::Duration;

use vmdriver::image::binaries::locate;
use vmdriver::smoke::{self, ChainOptions, SmokeError};

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
            "accelerator {} ({}); boot-to-agent-ready {:.2} s (libvirt create {:.2} s); guest uptime at ready {:?} s; version {}",
            r.accel.accel,
            r.accel.reason,
            r.boot_to_ready.as_secs_f64(),
            r.create_call.as_secs_f64(),
            r.guest_uptime_at_ready,
            r.version_body.trim()
        ),
        Err(SmokeError::Unavailable(why)) => eprintln!("skipped: {why}"),
        Err(SmokeError::Failed(m)) => panic!("{m}"),
    }
}

#[test]
fn guest_takes_management_address_by_dhcp() {
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
    match smoke::run_chain(
        &agent,
        &click,
        &ChainOptions {
            mgmt_dhcp: true,
            ..ChainOptions::single()
        },
    ) {
        Ok(r) => {
            assert_eq!(
                r.dhcp_acked.len(),
                1,
                "one lease expected: {:?}",
                r.dhcp_acked
            );
            assert!(r.console.contains("(DHCP)"), "console:\n{}", r.console);
            eprintln!(
                "DHCP guest: boot-to-agent-ready {:.2} s; lease {:?}",
                r.boot_to_ready.as_secs_f64(),
                r.dhcp_acked
            );
        }
        Err(SmokeError::Unavailable(why)) => eprintln!("skipped: {why}"),
        Err(SmokeError::Failed(m)) => panic!("{m}"),
    }
}

/// The PyCOO example chain: 3 VMs booting at once (issue goal: ready ≤ 10 s under TCG).
#[test]
fn three_vm_chain_boots_in_parallel() {
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
    match smoke::run_chain(
        &agent,
        &click,
        &ChainOptions {
            vms: 3,
            ready_timeout: Duration::from_secs(120),
            ..ChainOptions::single()
        },
    ) {
        Ok(r) => {
            assert_eq!(r.per_vm_ready.len(), 3);
            eprintln!(
                "3-VM chain ({}): all ready {:.2} s; per VM {:?}; libvirt create total {:.2} s",
                r.accel.accel,
                r.boot_to_ready.as_secs_f64(),
                r.per_vm_ready,
                r.create_call.as_secs_f64()
            );
        }
        Err(SmokeError::Unavailable(why)) => eprintln!("skipped: {why}"),
        Err(SmokeError::Failed(m)) => panic!("{m}"),
    }
}

/// Bridges inside a switch namespace (the netns testbed's layout): pre-created taps, opened by
/// libvirt unmanaged, moved into the switch namespace after start.
#[test]
fn guest_on_bridges_in_a_switch_namespace() {
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
    match smoke::run_chain(
        &agent,
        &click,
        &ChainOptions {
            switch_netns: true,
            ..ChainOptions::single()
        },
    ) {
        Ok(r) => eprintln!(
            "switch-netns guest: boot-to-agent-ready {:.2} s",
            r.boot_to_ready.as_secs_f64()
        ),
        Err(SmokeError::Unavailable(why)) => eprintln!("skipped: {why}"),
        Err(SmokeError::Failed(m)) => panic!("{m}"),
    }
}
