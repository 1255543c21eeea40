//! Spawning server processes, keeping what they print, and waiting for the line that says
//! they are ready.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// A TCP port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("binding an ephemeral port")
        .local_addr()
        .unwrap()
        .port()
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
            Err(_) => {
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
