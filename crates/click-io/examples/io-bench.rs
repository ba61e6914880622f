//! Packet I/O benchmark tool used by `scripts/io-forward-bench.sh`.
//!
//! - `gen`: blast 60-byte UDP frames with sendmmsg for N seconds (run inside the generator netns).
//! - `fwd`: a raw click-io forwarder IN → OUT (the I/O layer's ceiling, no Click graph).
//! - `latency`: one process, a sender thread in one netns and a receiver thread in another,
//!   timestamps (CLOCK_MONOTONIC) in the payload; prints p50/p90/p99/max one-way latency.
//!
//! All output is one JSON object per line on stdout.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use click_io::testnet;
use click_io::{IfName, IoMode, PacketRx, PacketTx, RxConfig, TxConfig};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Send frames as fast as possible (or at --pps) for --seconds.
    Gen {
        #[arg(long)]
        dev: String,
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        #[arg(long, default_value_t = 60)]
        size: usize,
        #[arg(long, default_value_t = 32)]
        batch: usize,
        /// Target rate; 0 = unlimited.
        #[arg(long, default_value_t = 0)]
        pps: u64,
    },
    /// Forward every frame from --in to --out until --seconds pass.
    Fwd {
        #[arg(long = "in")]
        input: String,
        #[arg(long = "out")]
        output: String,
        #[arg(long, default_value = "throughput")]
        mode: IoMode,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        #[arg(long, default_value_t = 64)]
        burst: usize,
    },
    /// Measure one-way latency from --gen-dev (in --gen-ns) to --sink-dev (in --sink-ns).
    Latency {
        #[arg(long)]
        gen_ns: String,
        #[arg(long)]
        gen_dev: String,
        #[arg(long)]
        sink_ns: String,
        #[arg(long)]
        sink_dev: String,
        #[arg(long, default_value_t = 10_000)]
        pps: u64,
        #[arg(long, default_value_t = 20_000)]
        count: u64,
        #[arg(long, default_value_t = 60)]
        size: usize,
        /// Receiver busy-polls instead of blocking in poll().
        #[arg(long)]
        sink_spin: bool,
        #[arg(long)]
        gen_cpu: Option<usize>,
        #[arg(long)]
        sink_cpu: Option<usize>,
        /// Background load beside the probes, frames/s (EtherType 0x88B5, which the sink's
        /// ring does not receive): latency at a given offered load.
        #[arg(long, default_value_t = 0)]
        load_pps: u64,
    },
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Gen {
            dev,
            seconds,
            size,
            batch,
            pps,
        } => gen(&dev, seconds, size, batch, pps),
        Cmd::Fwd {
            input,
            output,
            mode,
            seconds,
            burst,
        } => fwd(&input, &output, mode, seconds, burst),
        Cmd::Latency {
            gen_ns,
            gen_dev,
            sink_ns,
            sink_dev,
            pps,
            count,
            size,
            sink_spin,
            gen_cpu,
            sink_cpu,
            load_pps,
        } => latency(LatencyArgs {
            gen_ns,
            gen_dev,
            sink_ns,
            sink_dev,
            pps,
            count,
            size,
            sink_spin,
            gen_cpu,
            sink_cpu,
            load_pps,
        }),
    }
}

fn gen(dev: &str, seconds: f64, size: usize, batch: usize, pps: u64) -> Result<()> {
    let ifname = IfName::new(dev)?;
    let mut tx = PacketTx::open(
        &ifname,
        &TxConfig {
            batch,
            qdisc_bypass: true,
        },
    )?;
    let frames: Vec<Vec<u8>> = (0..1024).map(|s| testnet::udp_frame(size, s)).collect();
    let start = Instant::now();
    let dur = Duration::from_secs_f64(seconds);
    let mut i = 0usize;
    let mut sent = 0u64;
    while start.elapsed() < dur {
        if pps > 0 {
            let due = (start.elapsed().as_secs_f64() * pps as f64) as u64;
            if sent >= due {
                std::hint::spin_loop();
                continue;
            }
        }
        let end = (i + batch).min(frames.len());
        let n = tx.send_batch(&frames[i..end]);
        sent += n as u64;
        i = if end == frames.len() { 0 } else { end };
    }
    let el = start.elapsed().as_secs_f64();
    let c = tx.counters();
    println!(
        "{{\"tool\":\"gen\",\"sent\":{},\"seconds\":{:.3},\"mpps\":{:.4},\"busy\":{},\"errors\":{}}}",
        c.packets,
        el,
        c.packets as f64 / el / 1e6,
        c.busy,
        c.errors
    );
    Ok(())
}

fn fwd(input: &str, output: &str, mode: IoMode, seconds: f64, burst: usize) -> Result<()> {
    let mut rx = PacketRx::open(&IfName::new(input)?, &click_io::rx_config(mode, None))?;
    let mut tx = PacketTx::open(
        &IfName::new(output)?,
        &TxConfig {
            batch: burst,
            qdisc_bypass: true,
        },
    )?;
    let mut bufs: Vec<Vec<u8>> = (0..burst).map(|_| Vec::with_capacity(2048)).collect();
    let start = Instant::now();
    let dur = Duration::from_secs_f64(seconds);
    let mut dropped = 0u64;
    while start.elapsed() < dur {
        let mut k = 0;
        rx.recv_batch(burst, |f| {
            bufs[k].clear();
            bufs[k].extend_from_slice(f);
            k += 1;
        });
        if k == 0 {
            if mode != IoMode::Latency {
                rx.wait(10);
            }
            continue;
        }
        let mut done = tx.send_batch(&bufs[..k]);
        let mut tries = 0;
        while done < k && tries < 100 {
            tx.wait_writable(1);
            done += tx.send_batch(&bufs[done..k]);
            tries += 1;
        }
        dropped += (k - done) as u64;
    }
    let rc = rx.counters();
    let tc = tx.counters();
    println!(
        "{{\"tool\":\"fwd\",\"mode\":\"{mode}\",\"rx\":{},\"tx\":{},\"rx_kernel_drops\":{},\"dropped\":{dropped}}}",
        rc.packets, tc.packets, rc.kernel_drops
    );
    Ok(())
}

struct LatencyArgs {
    gen_ns: String,
    gen_dev: String,
    sink_ns: String,
    sink_dev: String,
    pps: u64,
    count: u64,
    size: usize,
    sink_spin: bool,
    gen_cpu: Option<usize>,
    sink_cpu: Option<usize>,
    load_pps: u64,
}

fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn enter(ns: &str, cpu: Option<usize>) -> Result<()> {
    netsys::netns::enter(std::path::Path::new(&format!("/run/netns/{ns}")))?;
    if let Some(c) = cpu {
        let mut set = nix::sched::CpuSet::new();
        set.set(c)?;
        nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)?;
    }
    Ok(())
}

fn latency(a: LatencyArgs) -> Result<()> {
    if a.size < 60 {
        bail!("--size must be at least 60");
    }
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let (sink_ns, sink_dev, spin, cpu, count) = (
        a.sink_ns.clone(),
        a.sink_dev.clone(),
        a.sink_spin,
        a.sink_cpu,
        a.count,
    );
    let sink = std::thread::spawn(move || -> Result<Vec<u64>> {
        enter(&sink_ns, cpu)?;
        let mut rx = PacketRx::open(
            &IfName::new(&sink_dev)?,
            &RxConfig {
                ethertype: Some(0x0800),
                ..click_io::rx_config(IoMode::Latency, None)
            },
        )?;
        let _ = ready_tx.send(());
        let mut lat = Vec::with_capacity(count as usize);
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut last_seen = Instant::now();
        while (lat.len() as u64) < count && Instant::now() < deadline {
            if !spin && !rx.ready() {
                rx.wait(100);
            }
            let got = rx.recv_batch(64, |f| {
                let t = now_ns();
                if testnet::udp_frame_seq(f).is_some() && f.len() >= 58 {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&f[50..58]);
                    lat.push(t.saturating_sub(u64::from_be_bytes(b)));
                }
            });
            if got > 0 {
                last_seen = Instant::now();
            } else if last_seen.elapsed() > Duration::from_secs(2) && !lat.is_empty() {
                break; // the sender is done and the rest was lost
            }
        }
        Ok(lat)
    });
    ready_rx
        .recv_timeout(Duration::from_secs(5))
        .context("sink did not start")?;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let filler = (a.load_pps > 0).then(|| {
        let (ns, dev, size, cpu, pps, done) = (
            a.gen_ns.clone(),
            a.gen_dev.clone(),
            a.size,
            a.gen_cpu,
            a.load_pps,
            done.clone(),
        );
        std::thread::spawn(move || -> Result<u64> {
            enter(&ns, cpu)?;
            let mut tx = PacketTx::open(&IfName::new(&dev)?, &TxConfig::default())?;
            let mut frame = testnet::udp_frame(size, 0);
            frame[12..14].copy_from_slice(&0x88B5u16.to_be_bytes());
            let batch = vec![frame; 16];
            let start = Instant::now();
            let mut sent = 0u64;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let due = start + Duration::from_secs_f64(sent as f64 / pps as f64);
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                sent += tx.send_batch(&batch) as u64;
            }
            Ok(sent)
        })
    });
    let (gen_ns, gen_dev, pps, count, size, gcpu) =
        (a.gen_ns, a.gen_dev, a.pps, a.count, a.size, a.gen_cpu);
    let gen = std::thread::spawn(move || -> Result<u64> {
        enter(&gen_ns, gcpu)?;
        let mut tx = PacketTx::open(&IfName::new(&gen_dev)?, &TxConfig::default())?;
        let mut frame = testnet::udp_frame(size, 0);
        let interval = Duration::from_nanos(1_000_000_000 / pps.max(1));
        let start = Instant::now();
        for seq in 0..count {
            let due = start + interval * seq as u32;
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            frame[42..50].copy_from_slice(&seq.to_be_bytes());
            frame[50..58].copy_from_slice(&now_ns().to_be_bytes());
            tx.send_batch(std::slice::from_ref(&frame));
        }
        Ok(tx.counters().packets)
    });
    let sent = gen
        .join()
        .map_err(|_| anyhow::anyhow!("generator panicked"))??;
    let mut lat = sink
        .join()
        .map_err(|_| anyhow::anyhow!("sink panicked"))??;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let load_sent = match filler {
        Some(f) => f
            .join()
            .map_err(|_| anyhow::anyhow!("load generator panicked"))??,
        None => 0,
    };
    if lat.is_empty() {
        bail!("no frame arrived");
    }
    lat.sort_unstable();
    let q = |p: f64| lat[((lat.len() - 1) as f64 * p) as usize] as f64 / 1000.0;
    println!(
        "{{\"tool\":\"latency\",\"sent\":{sent},\"load_sent\":{load_sent},\"received\":{},\"p50_us\":{:.2},\"p90_us\":{:.2},\"p99_us\":{:.2},\"max_us\":{:.2}}}",
        lat.len(),
        q(0.5),
        q(0.9),
        q(0.99),
        q(1.0)
    );
    Ok(())
}
