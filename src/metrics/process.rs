//! The standard `process_*` metrics, read from `/proc/self` at each scrape (Linux only;
//! elsewhere the collector reports nothing).

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use std::path::{Path, PathBuf};

/// Ticks per second of the CPU times in `/proc/*/stat`. The kernel reports them in
/// USER_HZ, which is 100 on every architecture Linux exposes to user space this way.
const USER_HZ: f64 = 100.0;

/// What one scrape reads about the process; a field is `None` when it could not be read.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ProcessSample {
    /// User plus system CPU time, in seconds.
    pub cpu_seconds: Option<f64>,
    /// Resident set size, in bytes.
    pub resident_memory_bytes: Option<u64>,
    /// Virtual memory size, in bytes.
    pub virtual_memory_bytes: Option<u64>,
    /// Open file descriptors.
    pub open_fds: Option<u64>,
    /// The soft limit on open file descriptors.
    pub max_fds: Option<u64>,
    /// When the process started, in seconds since the Unix epoch.
    pub start_time_seconds: Option<f64>,
}

/// Reads the process's own figures from a procfs root at each scrape.
#[derive(Debug, Clone)]
pub struct ProcessCollector {
    proc_root: PathBuf,
}

impl Default for ProcessCollector {
    fn default() -> Self {
        Self::new("/proc")
    }
}

impl ProcessCollector {
    /// A collector reading `<proc_root>/self` and `<proc_root>/stat`.
    pub fn new(proc_root: impl Into<PathBuf>) -> Self {
        Self {
            proc_root: proc_root.into(),
        }
    }

    /// Reads the current figures.
    pub fn sample(&self) -> ProcessSample {
        let own = self.proc_root.join("self");
        let read = |p: &Path| std::fs::read_to_string(p).ok();
        let stat = read(&own.join("stat")).and_then(|s| parse_stat(&s));
        let status = read(&own.join("status")).map(|s| parse_status(&s)).unwrap_or_default();
        let boot_time = read(&self.proc_root.join("stat")).and_then(|s| parse_boot_time(&s));
        ProcessSample {
            cpu_seconds: stat.map(|s| (s.utime + s.stime) as f64 / USER_HZ),
            resident_memory_bytes: status.resident_kib.map(|k| k * 1024),
            virtual_memory_bytes: status.virtual_kib.map(|k| k * 1024),
            open_fds: std::fs::read_dir(own.join("fd")).ok().map(|d| d.count() as u64),
            max_fds: read(&own.join("limits")).and_then(|s| parse_max_open_files(&s)),
            start_time_seconds: stat
                .zip(boot_time)
                .map(|(s, boot)| boot as f64 + s.start_ticks as f64 / USER_HZ),
        }
    }
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let sample = self.sample();
        if let Some(v) = sample.cpu_seconds {
            let metric = ConstCounter::new(v);
            let m = encoder.encode_descriptor(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds",
                None,
                metric.metric_type(),
            )?;
            metric.encode(m)?;
        }
        let whole: [(&str, &str, Option<u64>); 4] = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                sample.resident_memory_bytes,
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes",
                sample.virtual_memory_bytes,
            ),
            ("process_open_fds", "Number of open file descriptors", sample.open_fds),
            (
                "process_max_fds",
                "Maximum number of open file descriptors",
                sample.max_fds,
            ),
        ];
        for (name, help, value) in whole {
            if let Some(v) = value {
                let metric = ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX));
                metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)?;
            }
        }
        if let Some(v) = sample.start_time_seconds {
            let metric = ConstGauge::new(v);
            let m = encoder.encode_descriptor(
                "process_start_time_seconds",
                "Start time of the process since the Unix epoch in seconds",
                None,
                metric.metric_type(),
            )?;
            metric.encode(m)?;
        }
        Ok(())
    }
}

/// The fields of `/proc/<pid>/stat` the collector needs, in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    utime: u64,
    stime: u64,
    start_ticks: u64,
}

/// Parses `/proc/<pid>/stat`. The command name (field 2) is in parentheses and may hold
/// spaces or parentheses itself, so fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let after_name = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // fields[0] is field 3 (state); utime is field 14, stime 15, starttime 22.
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Stat {
        utime: field(14)?,
        stime: field(15)?,
        start_ticks: field(22)?,
    })
}

/// The memory sizes of `/proc/<pid>/status`, in KiB.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Status {
    resident_kib: Option<u64>,
    virtual_kib: Option<u64>,
}

/// Parses the `VmRSS:` and `VmSize:` lines of `/proc/<pid>/status` (given in kB, meaning KiB).
fn parse_status(text: &str) -> Status {
    let kib = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    };
    Status {
        resident_kib: kib("VmRSS:"),
        virtual_kib: kib("VmSize:"),
    }
}

/// The `btime` line of `/proc/stat`: boot time in seconds since the Unix epoch.
fn parse_boot_time(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// The soft limit of the `Max open files` line of `/proc/<pid>/limits`; `None` when unlimited.
fn parse_max_open_files(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (alarm (di) gest) S 1 4242 4242 0 -1 4194560 2000 0 0 0 \
                        250 130 0 0 20 0 9 0 81234 123456789 2048 18446744073709551615";

    #[test]
    fn cpu_and_start_ticks_are_read_after_a_command_name_with_spaces_and_parentheses() {
        assert_eq!(
            parse_stat(STAT),
            Some(Stat {
                utime: 250,
                stime: 130,
                start_ticks: 81234
            })
        );
        assert_eq!(parse_stat("4242 (truncated"), None);
    }

    #[test]
    fn memory_sizes_are_read_from_status_in_kibibytes() {
        let status = "Name:\talarm-digest\nVmSize:\t  812340 kB\nVmRSS:\t   20480 kB\nThreads:\t9\n";
        assert_eq!(
            parse_status(status),
            Status {
                resident_kib: Some(20480),
                virtual_kib: Some(812340)
            }
        );
    }

    #[test]
    fn boot_time_and_the_soft_open_files_limit_are_parsed() {
        assert_eq!(
            parse_boot_time("cpu  1 2 3\nbtime 1700000000\nprocesses 9\n"),
            Some(1_700_000_000)
        );
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(parse_max_open_files(limits), Some(1024));
        assert_eq!(
            parse_max_open_files("Max open files            unlimited            unlimited            files\n"),
            None
        );
    }

    #[test]
    fn a_fake_proc_root_gives_cpu_memory_fds_and_start_time() {
        let root = tempfile::tempdir().unwrap();
        let own = root.path().join("self");
        std::fs::create_dir_all(own.join("fd")).unwrap();
        for fd in ["0", "1", "2"] {
            std::fs::write(own.join("fd").join(fd), "").unwrap();
        }
        std::fs::write(own.join("stat"), STAT).unwrap();
        std::fs::write(own.join("status"), "VmRSS:\t 100 kB\nVmSize:\t 300 kB\n").unwrap();
        std::fs::write(root.path().join("stat"), "btime 1700000000\n").unwrap();
        let sample = ProcessCollector::new(root.path()).sample();
        assert_eq!(sample.cpu_seconds, Some(3.8));
        assert_eq!(sample.resident_memory_bytes, Some(102_400));
        assert_eq!(sample.virtual_memory_bytes, Some(307_200));
        assert_eq!(sample.open_fds, Some(3));
        assert_eq!(sample.max_fds, None);
        let started = sample.start_time_seconds.unwrap();
        assert!((started - 1_700_000_812.34).abs() < 1e-3, "{started}");
    }

    #[test]
    fn a_missing_proc_root_reports_nothing() {
        let sample = ProcessCollector::new("/nonexistent/proc").sample();
        assert_eq!(sample, ProcessSample::default());
    }
}
