//! Minimal leveled logging to stderr, one line per event.
//!
//! The hot paths log only at debug level, which is compiled in but off unless `LOG_LEVEL=debug`
//! was read at start-up (by a binary, through [`set_level`]).

use std::sync::atomic::{AtomicU8, Ordering};

/// Log levels, most verbose last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// Something is wrong and needs attention.
    Error = 0,
    /// Something unusual that the service handled.
    Warn = 1,
    /// Start-up, shutdown and state changes worth a line.
    Info = 2,
    /// Per-connection and per-payment detail.
    Debug = 3,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);

/// Sets the most verbose level that is printed.
pub fn set_level(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Whether `level` is printed.
pub fn enabled(level: Level) -> bool {
    level as u8 <= LEVEL.load(Ordering::Relaxed)
}

fn emit(level: Level, arguments: std::fmt::Arguments<'_>) {
    if enabled(level) {
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("-");
        let now = humantime::format_rfc3339_millis(std::time::SystemTime::now());
        eprintln!("{now} {level:?} [{name}] {arguments}");
    }
}

/// Logs at error level.
pub fn error(arguments: std::fmt::Arguments<'_>) {
    emit(Level::Error, arguments);
}

/// Logs at warn level.
pub fn warn(arguments: std::fmt::Arguments<'_>) {
    emit(Level::Warn, arguments);
}

/// Logs at info level.
pub fn info(arguments: std::fmt::Arguments<'_>) {
    emit(Level::Info, arguments);
}

/// Logs at debug level.
pub fn debug(arguments: std::fmt::Arguments<'_>) {
    emit(Level::Debug, arguments);
}
