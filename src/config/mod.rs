//! Environment → validated configuration, one struct per role. The only module that reads the
//! environment; library code receives these values as parameters.
//!
//! Every variable has a documented default (README's configuration table); a value that does not
//! parse stops the program at start-up with a message naming the variable.

pub mod sim;

use std::{env, str::FromStr};

use crate::http::stream::Endpoint;

/// Reads `name`, or `default` when unset or empty.
pub fn text(name: &str, default: &str) -> String {
    env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// Reads and parses `name`, or `default` when unset.
///
/// # Errors
/// A message naming the variable and the bad value.
pub fn parsed<T: FromStr>(name: &str, default: T) -> Result<T, String> {
    match env::var(name) {
        Ok(value) if !value.trim().is_empty() => {
            value.trim().parse().map_err(|_| format!("{name}={value:?} is not valid"))
        }
        _ => Ok(default),
    }
}

/// Reads an endpoint (`host:port` or `unix:/path`); `redis://host:port` is accepted too.
///
/// # Errors
/// A message naming the variable.
pub fn endpoint(name: &str, default: &str) -> Result<Endpoint, String> {
    let value = text(name, default);
    let value = value.strip_prefix("redis://").unwrap_or(&value).trim_end_matches('/');
    let value = value
        .strip_prefix("unix://")
        .map(|path| format!("unix:{path}"))
        .unwrap_or(value.to_string());
    Endpoint::parse(&value).map_err(|error| format!("{name}: {error}"))
}

/// Reads a comma-separated list of CPU numbers (empty: no pinning).
///
/// # Errors
/// A message naming the variable.
pub fn cpus(name: &str) -> Result<Vec<usize>, String> {
    let value = text(name, "");
    value
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| part.parse().map_err(|_| format!("{name}: {part:?} is not a CPU number")))
        .collect()
}

/// Sets the log level from `LOG_LEVEL` (`error`, `warn`, `info`, `debug`; default `info`).
///
/// # Errors
/// A message for an unknown level.
pub fn init_log() -> Result<(), String> {
    let level = match text("LOG_LEVEL", "info").to_ascii_lowercase().as_str() {
        "error" => log::LevelFilter::Error,
        "warn" => log::LevelFilter::Warn,
        "info" => log::LevelFilter::Info,
        "debug" => log::LevelFilter::Debug,
        other => return Err(format!("LOG_LEVEL={other:?} is not one of error, warn, info, debug")),
    };
    crate::logger::init(level);
    Ok(())
}

/// Configuration of `rinha-api`.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// `API_LISTEN`: where to listen.
    pub listen: Endpoint,
    /// `API_THREADS`: runtime threads, each with its own listener (TCP: `SO_REUSEPORT`).
    pub threads: usize,
    /// `API_CPUS`: CPUs to pin threads to, empty for none.
    pub cpus: Vec<usize>,
    /// `REDIS_URL`: the Redis server.
    pub redis: Endpoint,
}

impl ApiConfig {
    /// Reads the API's variables.
    ///
    /// # Errors
    /// A message naming the first bad variable.
    pub fn from_env() -> Result<Self, String> {
        let config = Self {
            listen: endpoint("API_LISTEN", "0.0.0.0:9998")?,
            threads: parsed("API_THREADS", 1usize)?,
            cpus: cpus("API_CPUS")?,
            redis: endpoint("REDIS_URL", "127.0.0.1:6379")?,
        };
        if config.threads == 0 || config.threads > 64 {
            return Err("API_THREADS must be between 1 and 64".into());
        }
        if config.threads > 1 && matches!(config.listen, Endpoint::Unix(_)) {
            return Err("API_THREADS > 1 needs a TCP API_LISTEN (a Unix path binds once)".into());
        }
        Ok(config)
    }
}

/// Parses a fee given as a decimal fraction (`0.05`) into basis points (`500`), exactly.
///
/// # Errors
/// A message naming the variable, for anything but a fraction in `[0, 1)` with at most 4 places.
pub fn fee_basis_points(name: &str, default: &str) -> Result<u32, String> {
    let value = text(name, default);
    let bad =
        || format!("{name}={value:?} must be a fraction like 0.05 (at most 4 decimal places)");
    match crate::number::parse_decimal(value.trim().as_bytes(), 4) {
        Ok(basis_points) if basis_points < 10_000 => Ok(basis_points as u32),
        _ => Err(bad()),
    }
}

/// Builds the processors' TLS configuration: the webpki roots, plus the PEM file named by
/// `PROCESSOR_CA_FILE` when set (a private CA).
///
/// # Errors
/// A message naming the variable and the file.
pub fn processor_tls() -> Result<crate::http::tls::TlsConfig, String> {
    let ca_file = text("PROCESSOR_CA_FILE", "");
    let ca_file = (!ca_file.is_empty()).then(|| std::path::PathBuf::from(ca_file.trim()));
    crate::http::tls::TlsConfig::new(ca_file.as_deref())
        .map_err(|error| format!("PROCESSOR_CA_FILE: {error}"))
}

/// The routing policy's settings: defaults derived from the fees, each overridable.
///
/// # Errors
/// A message naming the first bad variable.
pub fn router_settings(
    fees_basis_points: [u32; 2],
) -> Result<crate::worker::router::RouterSettings, String> {
    let defaults =
        crate::worker::router::RouterSettings::for_fees(fees_basis_points[0], fees_basis_points[1]);
    let settings = crate::worker::router::RouterSettings {
        latency_max_ms: parsed("ROUTER_LATENCY_MAX_MS", defaults.latency_max_ms)?,
        hold_max_ms: parsed("HOLD_MAX_MS", defaults.hold_max_ms)?,
        ..defaults
    };
    if settings.hold_max_ms < 0 {
        return Err("HOLD_MAX_MS must not be negative".into());
    }
    Ok(settings)
}

/// Configuration of `rinha-worker`.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// `WORKER_THREADS`: runtime threads, each with its own queue consumer.
    pub threads: usize,
    /// `WORKER_CPUS`: CPUs to pin threads to, empty for none.
    pub cpus: Vec<usize>,
    /// Fees in basis points, default then fallback (`DEFAULT_FEE`, `FALLBACK_FEE`).
    pub fees_basis_points: [u32; 2],
    /// Everything the worker threads need.
    pub settings: crate::worker::WorkerSettings,
}

impl WorkerConfig {
    /// Reads the worker's variables.
    ///
    /// # Errors
    /// A message naming the first bad variable.
    pub fn from_env() -> Result<Self, String> {
        use crate::http::client::Origin;
        let processor = |name: &str, default: &str| {
            Origin::parse(&text(name, default)).map_err(|error| format!("{name}: {error}"))
        };
        let fees_basis_points =
            [fee_basis_points("DEFAULT_FEE", "0.05")?, fee_basis_points("FALLBACK_FEE", "0.15")?];
        let settings = crate::worker::WorkerSettings {
            redis: endpoint("REDIS_URL", "127.0.0.1:6379")?,
            worker_id: text("WORKER_ID", "worker-1"),
            processors: [
                processor("PAYMENT_PROCESSOR_URL_DEFAULT", "http://127.0.0.1:8001")?,
                processor("PAYMENT_PROCESSOR_URL_FALLBACK", "http://127.0.0.1:8002")?,
            ],
            processor_tls: processor_tls()?,
            inflight_max: parsed("WORKER_INFLIGHT_MAX", 2000usize)?,
            take_batch_max: parsed("WORKER_TAKE_BATCH_MAX", 100usize)?,
            take_rate_max: parsed("WORKER_TAKE_RATE_MAX", 1500u32)?,
            timeout_ms: parsed("PROCESSOR_TIMEOUT_MS", 10_000u64)?,
            settle_ms: parsed("AMBIGUOUS_SETTLE_MS", 20_000i64)?,
            router: router_settings(fees_basis_points)?,
        };
        let config = Self {
            threads: parsed("WORKER_THREADS", 1usize)?,
            cpus: cpus("WORKER_CPUS")?,
            fees_basis_points,
            settings,
        };
        if config.threads == 0 || config.threads > 64 {
            return Err("WORKER_THREADS must be between 1 and 64".into());
        }
        if config.settings.inflight_max == 0
            || config.settings.take_batch_max == 0
            || config.settings.take_rate_max == 0
        {
            return Err("WORKER_INFLIGHT_MAX, WORKER_TAKE_BATCH_MAX and WORKER_TAKE_RATE_MAX must be positive".into());
        }
        if config.settings.timeout_ms == 0
            || config.settings.settle_ms < config.settings.timeout_ms as i64
        {
            return Err(
                "PROCESSOR_TIMEOUT_MS must be positive and at most AMBIGUOUS_SETTLE_MS".into()
            );
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_parse_exactly() {
        std::env::set_var("RINHA_TEST_FEE", "0.05");
        assert_eq!(fee_basis_points("RINHA_TEST_FEE", "0"), Ok(500));
        for (text, expected) in [
            ("0.15", Some(1500)),
            ("0.1", Some(1000)),
            ("0.07", Some(700)),
            ("0.0001", Some(1)),
            ("0", Some(0)),
            ("1.0", None),
            ("0.00001", None),
            ("-0.1", None),
            ("abc", None),
            ("0.1x", None),
        ] {
            std::env::set_var("RINHA_TEST_FEE", text);
            assert_eq!(fee_basis_points("RINHA_TEST_FEE", "0").ok(), expected, "{text}");
        }
    }
}
