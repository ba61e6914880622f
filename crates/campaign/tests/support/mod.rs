//! Settings and plans the campaign tests share.

use std::path::PathBuf;

use campaign::{Settings, VariantPlan};
use measure::report::{FrameSize, LatencySettings, RunSettings, TrialSettings, VariantRole};
use measure::{SearchConfig, SoundnessLimits};
use topology::EngineSpec;

/// `rounds` interleaved rounds over `sizes`, quick searches, latency at 10/50/90 %.
pub fn settings(rounds: u32, sizes: Vec<FrameSize>) -> Settings {
    Settings {
        run: RunSettings {
            direction: Default::default(),
            mode: "ndr-pdr".into(),
            frame_sizes: sizes,
            repetitions: rounds,
            warmup_s: 0.5,
            quick: false,
            search: SearchConfig {
                max_rate_pps: 2.0e6,
                initial_duration_s: 0.25,
                final_duration_s: 1.0,
                ..SearchConfig::default()
            },
            io_mode: None,
            trial: TrialSettings::default(),
            placement: None,
            latency: LatencySettings {
                loads_pct: vec![10.0, 50.0, 90.0],
                ..LatencySettings::default()
            },
            order: vec![],
            traffic: None,
        },
        warmup_rate_pps: 10_000.0,
        limits: SoundnessLimits::default(),
        ceiling_margin_pct: 5.0,
        warmup_retries: 0,
    }
}

/// One VNF `nf`: kernel-forward for the baseline, coo-click otherwise.
pub fn plan(name: &str, role: VariantRole) -> VariantPlan {
    VariantPlan {
        name: name.into(),
        role,
        vnfs: vec![topology::ResolvedVnf::new(
            "nf",
            if role == VariantRole::Baseline {
                EngineSpec::KernelForward
            } else {
                EngineSpec::CooClick
            },
            PathBuf::from("f.click"),
        )],
        skip: None,
    }
}
