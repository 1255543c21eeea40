//! Logging: `RUST_LOG` filters, `LOG_FORMAT` picks text or JSON lines.

use crate::config::LogFormat;
use std::ffi::OsStr;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls do nothing.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,async_nats=warn"));
    // The logs go to stderr, so it is stderr that must be a terminal for colour: a log
    // redirected to a file (`make run > run.log 2>&1`) must not fill with escapes.
    let ansi = colour(std::io::stderr().is_terminal(), std::env::var_os("NO_COLOR").as_deref());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Whether text logs are coloured: only on a terminal, and never when `NO_COLOR` is set to
/// anything but the empty string (<https://no-color.org>).
pub fn colour(is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    is_terminal && no_color.is_none_or(OsStr::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_are_coloured_only_on_a_terminal_without_no_color() {
        let set = |v: &'static str| Some(OsStr::new(v));
        assert!(colour(true, None));
        assert!(!colour(false, None), "a file or a pipe gets no escapes");
        assert!(!colour(true, set("1")));
        assert!(!colour(true, set("true")));
        assert!(!colour(false, set("1")));
        assert!(
            colour(true, set("")),
            "an empty NO_COLOR is unset, as no-color.org says"
        );
        assert!(!colour(false, set("")));
    }
}
