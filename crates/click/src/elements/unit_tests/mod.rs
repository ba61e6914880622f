//! Click's C++ unit-test elements given a Rust meaning: each runs the checks of its C++
//! counterpart (`elements/test/*.cc` in Click's sources) against coo-click's own component
//! and reports like Click, so a bug in the component fails the clicktest that uses it.
//!
//! - ConfParseTest: the configuration parsers in [`crate::args`].
//! - TokenBucketTest: [`crate::token_bucket::TokenBucket`], the shapers' bucket.
//! - NeighborhoodTest: the router's upstream/downstream walk ([`crate::Ctx::neighborhood`]).
//! - TimerTest: element timers ([`crate::Ctx::schedule_timer`]) under the router's clock.
//! - CryptoTest: the MD5 digests in [`crate::digest`] (ToIPSummaryDump's `payload_md5`).
//!
//! The other test elements of Click exercise C++ library classes coo-click does not have
//! (docs/conformance.md lists them with the reason).

use crate::registry::Registry;

/// Register the unit-test classes.
pub fn register(r: &mut Registry) {
    r.register("ConfParseTest", || {
        Box::<conf_parse::ConfParseTest>::default()
    });
    r.register("TokenBucketTest", || {
        Box::<token_bucket::TokenBucketTest>::default()
    });
    r.register("NeighborhoodTest", || {
        Box::<neighborhood::NeighborhoodTest>::default()
    });
    r.register("TimerTest", || Box::<timer::TimerTest>::default());
    r.register("CryptoTest", || Box::<crypto::CryptoTest>::default());
}

/// Click's message when all checks pass.
const ALL_PASS: &str = "All tests pass!";

/// Return Click's failure message for a check that does not hold: `file:line: test 'x'
/// failed` (the `backtick` form quotes like TokenBucketTest: `` `x' ``).
macro_rules! check {
    (backtick $cond:expr) => {
        if !$cond {
            return Err(format!(
                "{}:{}: test `{}' failed",
                file!(),
                line!(),
                stringify!($cond)
            ));
        }
    };
    ($cond:expr) => {
        if !$cond {
            return Err(format!(
                "{}:{}: test '{}' failed",
                file!(),
                line!(),
                stringify!($cond)
            ));
        }
    };
}

mod conf_parse;
mod crypto;
mod neighborhood;
mod timer;
mod token_bucket;

#[cfg(test)]
mod tests {
    use crate::{MemEnv, Registry, Router, RouterOptions, SimClock};

    fn router(conf: &str, env: &MemEnv) -> Router {
        let opts = RouterOptions {
            clock: Box::new(SimClock::default()),
            env: Box::new(env.clone()),
            defines: Vec::new(),
        };
        match Router::with_options(conf, "config", &Registry::standard(), opts) {
            Ok(r) => r,
            Err(e) => panic!("config failed: {e}"),
        }
    }

    #[test]
    fn check_reports_the_failed_expression_like_click() {
        fn failing() -> Result<(), String> {
            check!(1 + 1 == 3);
            Ok(())
        }
        fn failing_backtick() -> Result<(), String> {
            check!(backtick 2 < 1);
            Ok(())
        }
        let e = failing().unwrap_err();
        assert!(e.ends_with(": test '1 + 1 == 3' failed"), "{e}");
        assert!(e.starts_with(file!()), "{e}");
        let e = failing_backtick().unwrap_err();
        assert!(e.ends_with(": test `2 < 1' failed"), "{e}");
    }

    #[test]
    fn parser_and_token_bucket_checks_pass() {
        for class in ["ConfParseTest", "TokenBucketTest", "CryptoTest"] {
            let env = MemEnv::default();
            let _r = router(&format!("AddressInfo(ip4_addr 1.2.3.4); {class}"), &env);
            let chatter = env.chatter.borrow().clone();
            let want =
                format!("config:1: While configuring '{class}@2 :: {class}':\n  All tests pass!");
            assert!(chatter.contains(&want), "{chatter}");
        }
    }

    #[test]
    fn neighborhood_lists_elements_by_port_and_diameter() {
        let env = MemEnv::default();
        let mut r = router(
            "d::Idle -> c::Null -> b::Null -> a::Null -> n::NeighborhoodTest;
             n -> x::Null -> y::Null -> z::Idle;
             a2::Idle -> [1]n;
             n[1] -> x2::Idle;",
            &env,
        );
        let mut read = |h: &str, p: &str| r.read_handler_param(h, p).unwrap();
        assert_eq!(read("n.upstream", ""), "a\na2\n");
        assert_eq!(read("n.downstream", ""), "x\nx2\n");
        assert_eq!(read("n.upstream", "2"), "a\na2\nb\n");
        assert_eq!(read("n.upstream0", "2"), "a\nb\n");
        assert_eq!(read("n.upstream1", "2"), "a2\n");
        assert_eq!(read("n.downstream0", "3"), "x\ny\nz\n");
        assert_eq!(read("n.downstream1", ""), "x2\n");
        assert!(r.read_handler_param("n.upstream", "two").is_err());
        assert!(r.read_handler("n.upstream2").is_err());
    }

    #[test]
    fn timers_fire_at_their_expiry_in_order() {
        let env = MemEnv::default();
        let mut r = router(
            "t1 :: TimerTest(DELAY .03s); t2 :: TimerTest(DELAY .02s); t3 :: TimerTest(DELAY .01s);
             DriverManager(write t1.schedule_after 0, wait .05s, stop);",
            &env,
        );
        assert_eq!(r.read_handler("t2.scheduled").unwrap(), "true");
        assert!(r.run_to_completion(100_000));
        let chatter = env.chatter.borrow().clone();
        let fired: Vec<&str> = chatter
            .lines()
            .filter_map(|l| l.split_once(": ").map(|(_, m)| m))
            .collect();
        assert_eq!(
            fired,
            [
                "t1 :: TimerTest fired",
                "t3 :: TimerTest fired",
                "t2 :: TimerTest fired"
            ]
        );
        assert_eq!(r.read_handler("t2.scheduled").unwrap(), "false");
    }
}
