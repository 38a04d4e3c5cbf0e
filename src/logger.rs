//! The `log` facade's back end: one line per event on stderr,
//! `<RFC 3339 time, ms> <LEVEL> [<thread>] <message>`.
//!
//! Library code logs through the `log` crate's macros; the hot paths log only at debug level, which
//! is off unless `LOG_LEVEL=debug` was read at start-up (by a binary, through
//! [`crate::config::init_log`]). A disabled level costs one relaxed atomic load in the macro.

use log::{LevelFilter, Log, Metadata, Record};

struct Stderr;

impl Log for Stderr {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            let thread = std::thread::current();
            let name = thread.name().unwrap_or("-");
            let now = humantime::format_rfc3339_millis(std::time::SystemTime::now());
            eprintln!("{now} {} [{name}] {}", record.level(), record.args());
        }
    }

    fn flush(&self) {}
}

static STDERR: Stderr = Stderr;

/// Installs the stderr logger (once per process; later calls only change the level) and prints
/// events up to `level`.
pub(crate) fn init(level: LevelFilter) {
    // A second call finds the logger already set; the level still applies.
    let _ = log::set_logger(&STDERR);
    log::set_max_level(level);
}

#[cfg(test)]
mod tests {
    use log::{Level, LevelFilter};

    #[test]
    fn the_level_read_at_start_up_gates_the_macros() {
        super::init(LevelFilter::Warn);
        assert!(log::log_enabled!(Level::Warn));
        assert!(!log::log_enabled!(Level::Info));
        super::init(LevelFilter::Debug);
        assert!(log::log_enabled!(Level::Debug));
        super::init(LevelFilter::Info);
        assert!(!log::log_enabled!(Level::Debug));
    }
}
