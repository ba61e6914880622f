//! Forces the receive/send buffers of every packet socket of a running process, as the agent
//! does for reference Click (used by scripts/io-forward-bench.sh so every engine of the
//! benchmark has the same buffer): `sockbuf PID BYTES`.

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match args.as_slice() {
        [pid, bytes] => pid.parse::<u32>().ok().zip(bytes.parse::<usize>().ok()),
        _ => None,
    };
    let Some((pid, bytes)) = parsed else {
        eprintln!("usage: sockbuf PID BYTES");
        return std::process::ExitCode::from(2);
    };
    match agent::sockbuf::force_packet_buffers(pid, bytes) {
        Ok(f) => {
            println!("{{\"sockets\":{},\"rcvbuf\":{}}}", f.sockets, f.rcvbuf);
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(1)
        }
    }
}
