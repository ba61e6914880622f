//! `coo-bench image build` and `coo-bench doctor`: the VM driver's host preparation.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use vmdriver::doctor::{self, Status};
use vmdriver::image::{self, BuildOptions};

/// `coo-bench image ...`
#[derive(Debug, Args)]
pub struct ImageArgs {
    #[command(subcommand)]
    pub command: ImageCommand,
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Build (or reuse from the cache) the guest image: Debian cloud kernel + our initramfs.
    Build(ImageBuildArgs),
}

#[derive(Debug, Args)]
pub struct ImageBuildArgs {
    /// Print only the image directory (holding vmlinuz, initramfs.img, manifest.json).
    #[arg(long)]
    pub print_path: bool,
    /// Debian kernel package (default: what linux-image-cloud-amd64 depends on).
    #[arg(long, env = "COO_BENCH_GUEST_KERNEL_PKG")]
    pub kernel_package: Option<String>,
    /// Guest init binary (default: coo-guest-init, static build preferred).
    #[arg(long, env = "COO_BENCH_GUEST_INIT")]
    pub init: Option<PathBuf>,
    /// Agent binary (default: coo-vnf next to this executable, static build preferred).
    #[arg(long, env = "COO_BENCH_COO_VNF")]
    pub agent: Option<PathBuf>,
    /// coo-click binary (default: next to this executable, static build preferred).
    #[arg(long, env = "COO_BENCH_COO_CLICK")]
    pub click: Option<PathBuf>,
    /// External engine binary to include at its host path (repeatable), with its libraries.
    #[arg(long = "engine-bin")]
    pub engine_bins: Vec<PathBuf>,
    /// gzip the initramfs (smaller, slower to unpack under TCG).
    #[arg(long)]
    pub gzip: bool,
    /// Also package the image as a bootable disk (`guest-dhcp.qcow2`: syslinux on FAT, DHCP
    /// management address) for testing disk-image VNFs; `--print-path` prints its path.
    #[arg(long)]
    pub disk: bool,
    /// Print only JSON on stdout: `{dir, disk, built_now, manifest}`.
    #[arg(long, conflicts_with = "print_path")]
    pub json: bool,
    /// Cache root (default /var/cache/coo-bench).
    #[arg(long, env = "COO_BENCH_CACHE")]
    pub cache_dir: Option<PathBuf>,
}

/// `coo-bench doctor`
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Install what is missing (apt), start libvirtd/virtlogd without systemd, build the image.
    #[arg(long)]
    pub fix: bool,
    /// Machine-readable report on stdout.
    #[arg(long)]
    pub json: bool,
    /// Skip the KVM boot probe (it boots a guest for up to --kvm-timeout-s).
    #[arg(long)]
    pub no_kvm_probe: bool,
    #[arg(long, default_value_t = 8)]
    pub kvm_timeout_s: u64,
}

fn build_options(a: &ImageBuildArgs) -> anyhow::Result<BuildOptions> {
    let locate = |given: &Option<PathBuf>, name: &str, env: &str| -> anyhow::Result<PathBuf> {
        match given {
            Some(p) => Ok(p.clone()),
            None => Ok(image::binaries::locate(name, env)?),
        }
    };
    Ok(BuildOptions {
        cache_root: a.cache_dir.clone().unwrap_or_else(image::cache_root),
        kernel_package: a.kernel_package.clone(),
        init: locate(&a.init, "coo-guest-init", "COO_BENCH_GUEST_INIT")?,
        agent: locate(&a.agent, "coo-vnf", "COO_BENCH_COO_VNF")?,
        click: locate(&a.click, "coo-click", "COO_BENCH_COO_CLICK")?,
        extra_bins: a.engine_bins.clone(),
        gzip: a.gzip,
    })
}

/// `coo-bench image build`
pub fn image(args: ImageArgs) -> anyhow::Result<ExitCode> {
    let ImageCommand::Build(a) = args.command;
    let opts = build_options(&a)?;
    // --print-path prints one line for scripts: no bars then either.
    let bar =
        crate::cmd::progress::ImageBuild::new(crate::cmd::progress::mode(a.json || a.print_path));
    let img = image::build_with(&opts, &|s| bar.step(s)).context("building the guest image");
    bar.finish();
    let img = img?;
    let disk = if a.disk {
        Some(image::disk::build_disk(&img).context("packaging the guest as a disk image")?)
    } else {
        None
    };
    if a.print_path {
        println!("{}", disk.as_ref().unwrap_or(&img.dir).display());
        return Ok(ExitCode::SUCCESS);
    }
    if a.json {
        let out = serde_json::json!({
            "dir": img.dir,
            "disk": disk,
            "built_now": img.built_now,
            "manifest": img.manifest,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(d) = &disk {
        println!("disk image {}", d.display());
    }
    let m = &img.manifest;
    println!(
        "guest image {} ({}) {}",
        m.hash,
        if img.built_now { "built" } else { "cached" },
        img.dir.display()
    );
    println!("  kernel     {} ({})", m.kernel_release, m.kernel_package);
    println!(
        "  initramfs  {} KiB, modules: {}",
        m.initramfs_bytes / 1024,
        m.modules.join(" ")
    );
    for f in m.files.iter().filter(|f| f.is_static.is_some()) {
        println!(
            "  {:<22} {} ({} KiB, from {})",
            f.guest_path,
            if f.is_static == Some(true) {
                "static"
            } else {
                "dynamic + libs"
            },
            f.bytes / 1024,
            f.source.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(r: &doctor::Report) {
    for c in &r.checks {
        let tag = match c.status {
            Status::Ok => " ok ",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        };
        println!("[{tag}] {:<12} {}", c.name, c.detail);
        if let Some(f) = &c.fix {
            println!("       {:<12} fix: {f}", "");
        }
    }
    match &r.accelerator {
        Some(a) => println!("accelerator: {}", a.accel),
        None => println!("accelerator: not probed"),
    }
    println!(
        "{}",
        if r.ok {
            "doctor: all needed checks pass"
        } else {
            "doctor: some needed checks fail"
        }
    );
}

/// `coo-bench doctor`
pub fn doctor(args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let timeout = Duration::from_secs(args.kvm_timeout_s);
    let probe = !args.no_kvm_probe;
    let mut report = doctor::run_checks(probe && !args.fix, timeout);
    if args.fix {
        let failing = |name: &str| {
            report
                .checks
                .iter()
                .any(|c| c.name == name && c.status != Status::Ok)
        };
        if failing("qemu") || failing("libvirt") || failing("disk-tools") {
            eprintln!("doctor --fix: running scripts/vm-setup.sh");
            match doctor::run_vm_setup() {
                Ok(out) => eprint!("{out}"),
                Err(out) => eprintln!("doctor --fix: vm-setup failed:\n{out}"),
            }
        }
        if failing("guest-image") {
            eprintln!("doctor --fix: building the guest image");
            let built = BuildOptions::discover().and_then(|o| image::build(&o));
            match built {
                Ok(img) => eprintln!("doctor --fix: image {}", img.dir.display()),
                Err(e) => eprintln!("doctor --fix: image build failed: {e}"),
            }
        }
        report = doctor::run_checks(probe, timeout);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
