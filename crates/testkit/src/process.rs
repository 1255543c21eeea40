//! Spawning server processes, keeping what they print, and waiting for the line that says
//! they are ready.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// A TCP port nobody listens on right now, and that no other call in this process
/// handed out before.
///
/// It is taken below the kernel's ephemeral range (`net.ipv4.ip_local_port_range`,
/// 32768–60999 by default), where the local ports of outgoing connections and of
/// `bind(":0")` come from: a port of that range can be handed to someone else's
/// connection between the check here and the server's own bind, which made a cluster
/// node exit with "address already in use" one soak run in twenty. Each process starts
/// at its own place in the range, so two test binaries rarely try the same ports.
pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let (low, high) = below_ephemeral_range();
    let span = u32::from(high - low);
    let start = std::process::id().wrapping_mul(7919) % span;
    for _ in 0..span {
        let offset = (start + NEXT.fetch_add(1, Ordering::Relaxed)) % span;
        let port = low + offset as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free TCP port between {low} and {high}");
}

/// The ports `free_port` hands out: from 10000 up to the start of the ephemeral range.
fn below_ephemeral_range() -> (u16, u16) {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    (10_000, ephemeral_low.max(20_000))
}

/// Starts `cmd` with its output piped, and returns once a line of its output contains
/// `ready` (with every line seen until then), or panics with that output after `timeout`.
/// The output keeps being drained afterwards so the server never blocks on a full pipe.
pub fn spawn_until_ready(cmd: Command, ready: &str, timeout: Duration) -> (Child, Vec<String>) {
    let (child, output) = spawn_keeping_output(cmd, ready, timeout, false);
    let seen = output.lock().unwrap().clone();
    (child, seen)
}

/// Like [`spawn_until_ready`], and keeps every later line of output too (when `keep`), for a
/// test that inspects what the process printed.
pub fn spawn_keeping_output(
    mut cmd: Command,
    ready: &str,
    timeout: Duration,
    keep: bool,
) -> (Child, Arc<Mutex<Vec<String>>>) {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let (tx, rx) = mpsc::channel::<String>();
    forward_lines(child.stdout.take().unwrap(), tx.clone());
    forward_lines(child.stderr.take().unwrap(), tx);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let done = line.contains(ready);
                seen.lock().unwrap().push(line);
                if done {
                    let later = Arc::clone(&seen);
                    std::thread::spawn(move || {
                        for line in rx {
                            if keep {
                                later.lock().unwrap().push(line);
                            }
                        }
                    });
                    return (child, seen);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
                panic!(
                    "{cmd:?} exited ({status}) before printing {ready:?}; output:\n{}",
                    seen.lock().unwrap().join("\n")
                );
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                stop(&mut child);
                panic!(
                    "{cmd:?} did not print {ready:?} within {timeout:?}; output:\n{}",
                    seen.lock().unwrap().join("\n")
                );
            }
        }
    }
}

/// How many of its last lines [`spawn_logged`] keeps of a process not asked to keep all:
/// enough to say why it failed to start.
const TAIL: usize = 200;

/// Starts `cmd` with its output piped and drained, without waiting for anything. Every line
/// it prints is kept when `keep`, else only the last few (for a failure message).
pub fn spawn_logged(mut cmd: Command, keep: bool) -> (Child, Arc<Mutex<Vec<String>>>) {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let (tx, rx) = mpsc::channel::<String>();
    forward_lines(child.stdout.take().unwrap(), tx.clone());
    forward_lines(child.stderr.take().unwrap(), tx);
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in rx {
            let mut lines = sink.lock().unwrap();
            lines.push(line);
            if !keep && lines.len() > TAIL {
                lines.remove(0);
            }
        }
    });
    (child, lines)
}

fn forward_lines(stream: impl Read + Send + 'static, tx: mpsc::Sender<String>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if std::env::var_os("TEST_SERVER_LOGS").is_some() {
                eprintln!("{line}");
            }
            let _ = tx.send(line);
        }
    });
}

/// Kills a child by PID and reaps it.
pub fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct_and_below_the_ephemeral_range() {
        let (low, high) = below_ephemeral_range();
        let ports: Vec<u16> = (0..200).map(|_| free_port()).collect();
        let distinct: std::collections::HashSet<_> = ports.iter().collect();
        assert_eq!(distinct.len(), ports.len(), "no port handed out twice");
        assert!(ports.iter().all(|p| (low..high).contains(p)), "{ports:?}");
    }

    #[test]
    fn a_server_that_exits_before_it_is_ready_is_reported_as_exited_at_once() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo starting; exit 3"]);
        let started = std::time::Instant::now();
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            spawn_until_ready(cmd, "ready", Duration::from_secs(30))
        }))
        .expect_err("it never printed ready");
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("exited") && message.contains("starting"), "{message}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not after the whole timeout"
        );
    }
}
