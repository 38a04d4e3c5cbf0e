//! Environment → validated configuration, one struct per role. The only module that reads the
//! environment; library code receives these values as parameters.
//!
//! Every variable has a documented default (README's configuration table); a value that does not
//! parse stops the program at start-up with a message naming the variable.
//!
//! Every configuration type reads its variables through `Variables`, an injectable lookup: the
//! binaries pass the process environment (`from_env`), tests a table, so no test sets a variable
//! that another test, running at the same time, would read.

pub mod sim;

use std::{env, str::FromStr};

use crate::net::Endpoint;

/// Where the configuration's variables come from: the process environment in the binaries
/// ([`Variables::from_env`]), a table in tests (`Variables::from_pairs`), so that a test of a bad
/// value never changes the environment other tests read. Every configuration type is parsed
/// through one of these.
pub(crate) struct Variables {
    lookup: Box<Lookup>,
}

/// A variable's value by name, `None` when unset.
type Lookup = dyn Fn(&str) -> Option<String>;

impl Variables {
    /// The process environment.
    pub(crate) fn from_env() -> Self {
        Self { lookup: Box::new(|name| env::var(name).ok()) }
    }

    /// A fixed table of `(name, value)`; every other variable is unset.
    #[cfg(test)]
    pub(crate) fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        let table: std::collections::HashMap<String, String> =
            pairs.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect();
        Self { lookup: Box::new(move |name| table.get(name).cloned()) }
    }

    /// The value of `name` exactly as set, `None` only when it is unset (the simulator's rule: a
    /// set but blank value is a value, and refused if invalid).
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
    }

    /// The value of `name`, trimmed; `None` when unset or blank (the API's and worker's rule: a
    /// compose file that passes an empty value means the default).
    fn value(&self, name: &str) -> Option<String> {
        self.get(name).map(|value| value.trim().to_string()).filter(|value| !value.is_empty())
    }

    /// The value of `name`, or `default` when unset or blank.
    pub(crate) fn text(&self, name: &str, default: &str) -> String {
        self.value(name).unwrap_or_else(|| default.to_string())
    }

    /// Parses `name`, or returns `default` when unset or blank.
    ///
    /// # Errors
    /// A message naming the variable and the bad value.
    pub(crate) fn parsed<T: FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.value(name) {
            Some(value) => value.parse().map_err(|_| format!("{name}={value:?} is not valid")),
            None => Ok(default),
        }
    }

    /// Reads an endpoint (`host:port` or `unix:/path`); `redis://host:port` is accepted too.
    ///
    /// # Errors
    /// A message naming the variable.
    pub(crate) fn endpoint(&self, name: &str, default: &str) -> Result<Endpoint, String> {
        let value = self.text(name, default);
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
    pub(crate) fn cpus(&self, name: &str) -> Result<Vec<usize>, String> {
        let value = self.text(name, "");
        value
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| part.parse().map_err(|_| format!("{name}: {part:?} is not a CPU number")))
            .collect()
    }

    /// Parses a fee given as a decimal fraction (`0.05`) into basis points (`500`), exactly.
    ///
    /// # Errors
    /// A message naming the variable, for anything but a fraction in `[0, 1)` with at most 4
    /// places.
    pub(crate) fn fee_basis_points(&self, name: &str, default: &str) -> Result<u32, String> {
        let value = self.text(name, default);
        let bad =
            || format!("{name}={value:?} must be a fraction like 0.05 (at most 4 decimal places)");
        match crate::number::parse_decimal(value.as_bytes(), 4) {
            Ok(basis_points) if basis_points < 10_000 => Ok(basis_points as u32),
            _ => Err(bad()),
        }
    }

    /// The log level from `LOG_LEVEL` (`error`, `warn`, `info`, `debug`; default `info`).
    ///
    /// # Errors
    /// A message for an unknown level.
    pub(crate) fn log_level(&self) -> Result<log::LevelFilter, String> {
        match self.text("LOG_LEVEL", "info").to_ascii_lowercase().as_str() {
            "error" => Ok(log::LevelFilter::Error),
            "warn" => Ok(log::LevelFilter::Warn),
            "info" => Ok(log::LevelFilter::Info),
            "debug" => Ok(log::LevelFilter::Debug),
            other => Err(format!("LOG_LEVEL={other:?} is not one of error, warn, info, debug")),
        }
    }
}

/// Sets the log level from the environment's `LOG_LEVEL` (see `Variables::log_level`).
///
/// # Errors
/// A message for an unknown level.
pub fn init_log() -> Result<(), String> {
    crate::logger::init(Variables::from_env().log_level()?);
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
    /// Reads the API's variables from the environment.
    ///
    /// # Errors
    /// A message naming the first bad variable.
    pub fn from_env() -> Result<Self, String> {
        Self::from_variables(&Variables::from_env())
    }

    /// Reads the API's variables from `variables`.
    ///
    /// # Errors
    /// A message naming the first bad variable.
    pub(crate) fn from_variables(variables: &Variables) -> Result<Self, String> {
        let config = Self {
            listen: variables.endpoint("API_LISTEN", "0.0.0.0:9998")?,
            threads: variables.parsed("API_THREADS", 1usize)?,
            cpus: variables.cpus("API_CPUS")?,
            redis: variables.endpoint("REDIS_URL", "127.0.0.1:6379")?,
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

/// Builds the processors' TLS configuration: the webpki roots, plus the PEM file named by
/// `PROCESSOR_CA_FILE` when set (a private CA).
///
/// # Errors
/// A message naming the variable and the file.
pub(crate) fn processor_tls(variables: &Variables) -> Result<crate::http::tls::TlsConfig, String> {
    let ca_file = variables.text("PROCESSOR_CA_FILE", "");
    let ca_file = (!ca_file.is_empty()).then(|| std::path::PathBuf::from(ca_file));
    crate::http::tls::TlsConfig::new(ca_file.as_deref())
        .map_err(|error| format!("PROCESSOR_CA_FILE: {error}"))
}

/// The routing policy's settings: defaults derived from the fees, each overridable.
///
/// # Errors
/// A message naming the first bad variable.
pub(crate) fn router_settings(
    variables: &Variables,
    fees_basis_points: [u32; 2],
) -> Result<crate::worker::router::RouterSettings, String> {
    let defaults =
        crate::worker::router::RouterSettings::for_fees(fees_basis_points[0], fees_basis_points[1]);
    let settings = crate::worker::router::RouterSettings {
        latency_max_ms: variables.parsed("ROUTER_LATENCY_MAX_MS", defaults.latency_max_ms)?,
        hold_max_ms: variables.parsed("HOLD_MAX_MS", defaults.hold_max_ms)?,
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
    #[cfg(test)]
    pub(crate) fees_basis_points: [u32; 2],
    /// Everything the worker threads need.
    pub settings: crate::worker::WorkerSettings,
}

impl WorkerConfig {
    /// Reads the worker's variables from the environment.
    ///
    /// # Errors
    /// A message naming the first bad variable.
    pub fn from_env() -> Result<Self, String> {
        Self::from_variables(&Variables::from_env())
    }

    /// Reads the worker's variables from `variables`.
    ///
    /// # Errors
    /// A message naming the first bad variable.
    pub(crate) fn from_variables(variables: &Variables) -> Result<Self, String> {
        use crate::http::client::Origin;
        let processor = |name: &str, default: &str| {
            Origin::parse(&variables.text(name, default))
                .map_err(|error| format!("{name}: {error}"))
        };
        let fees_basis_points = [
            variables.fee_basis_points("DEFAULT_FEE", "0.05")?,
            variables.fee_basis_points("FALLBACK_FEE", "0.15")?,
        ];
        let settings = crate::worker::WorkerSettings {
            redis: variables.endpoint("REDIS_URL", "127.0.0.1:6379")?,
            worker_id: variables.text("WORKER_ID", "worker-1"),
            processors: [
                processor("PAYMENT_PROCESSOR_URL_DEFAULT", "http://127.0.0.1:8001")?,
                processor("PAYMENT_PROCESSOR_URL_FALLBACK", "http://127.0.0.1:8002")?,
            ],
            processor_tls: processor_tls(variables)?,
            inflight_max: variables.parsed("WORKER_INFLIGHT_MAX", 2000usize)?,
            take_batch_max: variables.parsed("WORKER_TAKE_BATCH_MAX", 100usize)?,
            take_rate_max: variables.parsed("WORKER_TAKE_RATE_MAX", 1500u32)?,
            timeout_ms: variables.parsed("PROCESSOR_TIMEOUT_MS", 10_000u64)?,
            settle_ms: variables.parsed("AMBIGUOUS_SETTLE_MS", 20_000i64)?,
            router: router_settings(variables, fees_basis_points)?,
        };
        let config = Self {
            threads: variables.parsed("WORKER_THREADS", 1usize)?,
            cpus: variables.cpus("WORKER_CPUS")?,
            #[cfg(test)]
            fees_basis_points,
            settings,
        };
        if config.threads == 0 || config.threads > 64 {
            return Err("WORKER_THREADS must be between 1 and 64".into());
        }
        let positive = [
            ("WORKER_INFLIGHT_MAX", config.settings.inflight_max),
            ("WORKER_TAKE_BATCH_MAX", config.settings.take_batch_max),
            ("WORKER_TAKE_RATE_MAX", config.settings.take_rate_max as usize),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(format!("{name} must be positive"));
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
    use crate::worker::router::RouterSettings;

    fn api(pairs: &[(&str, &str)]) -> Result<ApiConfig, String> {
        ApiConfig::from_variables(&Variables::from_pairs(pairs))
    }

    fn worker(pairs: &[(&str, &str)]) -> Result<WorkerConfig, String> {
        WorkerConfig::from_variables(&Variables::from_pairs(pairs))
    }

    #[test]
    fn fees_parse_exactly() {
        let cases = [
            ("0.05", Some(500)),
            ("0.15", Some(1500)),
            ("0.1", Some(1000)),
            ("0.07", Some(700)),
            ("0.0001", Some(1)),
            ("0", Some(0)),
            (" 0.05 ", Some(500)),
            ("0.9999", Some(9999)),
            ("0.05000", Some(500)),
            ("1.0", None),
            ("1", None),
            ("0.00001", None),
            ("-0.1", None),
            ("+0.1", None),
            ("abc", None),
            ("0.1x", None),
            ("5%", None),
            ("1e-2", None),
            (".05", None),
        ];
        for (text, expected) in cases {
            let variables = Variables::from_pairs(&[("FEE", text)]);
            assert_eq!(variables.fee_basis_points("FEE", "0").ok(), expected, "{text:?}");
        }
        let message = Variables::from_pairs(&[("FEE", "0.5%")]).fee_basis_points("FEE", "0");
        assert_eq!(
            message.unwrap_err(),
            "FEE=\"0.5%\" must be a fraction like 0.05 (at most 4 decimal places)"
        );
        assert_eq!(Variables::from_pairs(&[]).fee_basis_points("FEE", "0.15"), Ok(1500));
    }

    #[test]
    fn a_blank_value_is_the_default_and_get_sees_it_as_set() {
        let variables = Variables::from_pairs(&[("BLANK", "  "), ("SET", " x ")]);
        assert_eq!(variables.text("BLANK", "default"), "default");
        assert_eq!(variables.text("UNSET", "default"), "default");
        assert_eq!(variables.text("SET", "default"), "x");
        assert_eq!(variables.parsed("BLANK", 7u32), Ok(7));
        assert_eq!(variables.get("BLANK").as_deref(), Some("  "));
        assert_eq!(variables.get("UNSET"), None);
    }

    #[test]
    fn log_levels() {
        for (text, level) in [
            ("error", log::LevelFilter::Error),
            ("WARN", log::LevelFilter::Warn),
            ("info", log::LevelFilter::Info),
            ("Debug", log::LevelFilter::Debug),
            ("", log::LevelFilter::Info),
        ] {
            assert_eq!(Variables::from_pairs(&[("LOG_LEVEL", text)]).log_level(), Ok(level));
        }
        let error = Variables::from_pairs(&[("LOG_LEVEL", "trace")]).log_level().unwrap_err();
        assert!(error.starts_with("LOG_LEVEL=\"trace\""), "{error}");
    }

    #[test]
    fn api_defaults_and_every_variable() {
        let config = api(&[]).unwrap();
        assert_eq!(config.listen, Endpoint::Tcp("0.0.0.0:9998".to_string()));
        assert_eq!(config.threads, 1);
        assert!(config.cpus.is_empty());
        assert_eq!(config.redis, Endpoint::Tcp("127.0.0.1:6379".to_string()));
        let config = api(&[
            ("API_LISTEN", "127.0.0.1:9000"),
            ("API_THREADS", "2"),
            ("API_CPUS", "0, 1,"),
            ("REDIS_URL", "redis://redis:6380/"),
        ])
        .unwrap();
        assert_eq!(config.listen, Endpoint::Tcp("127.0.0.1:9000".to_string()));
        assert_eq!(config.threads, 2);
        assert_eq!(config.cpus, [0, 1]);
        assert_eq!(config.redis, Endpoint::Tcp("redis:6380".to_string()));
        let config = api(&[("API_LISTEN", "unix:/tmp/api.sock"), ("REDIS_URL", "unix:///r.sock")]);
        let config = config.unwrap();
        assert_eq!(config.listen, Endpoint::Unix("/tmp/api.sock".into()));
        assert_eq!(config.redis, Endpoint::Unix("/r.sock".into()));
    }

    /// The settings of a worker configuration that tests compare (TLS roots aside).
    type WorkerSummary = (usize, Vec<usize>, [u32; 2], Endpoint, String, [String; 2], [usize; 3]);

    fn summary(config: &WorkerConfig) -> (WorkerSummary, (u64, i64, RouterSettings)) {
        let settings = &config.settings;
        let hosts = settings.processors.clone().map(|origin| origin.host);
        let bounds =
            [settings.inflight_max, settings.take_batch_max, settings.take_rate_max as usize];
        (
            (
                config.threads,
                config.cpus.clone(),
                config.fees_basis_points,
                settings.redis.clone(),
                settings.worker_id.clone(),
                hosts,
                bounds,
            ),
            (settings.timeout_ms, settings.settle_ms, settings.router),
        )
    }

    #[test]
    fn worker_defaults_and_every_variable() {
        let tcp = |address: &str| Endpoint::Tcp(address.to_string());
        let hosts = |default: &str, fallback: &str| [default.to_string(), fallback.to_string()];
        let defaults = (
            (
                1,
                vec![],
                [500, 1500],
                tcp("127.0.0.1:6379"),
                "worker-1".to_string(),
                hosts("127.0.0.1:8001", "127.0.0.1:8002"),
                [2000, 100, 1500],
            ),
            (10_000, 20_000, RouterSettings::for_fees(500, 1500)),
        );
        assert_eq!(summary(&worker(&[]).unwrap()), defaults);
        let every = worker(&[
            ("REDIS_URL", "unix:/tmp/redis.sock"),
            ("WORKER_ID", "worker-2"),
            ("WORKER_THREADS", "3"),
            ("WORKER_CPUS", "1"),
            ("PAYMENT_PROCESSOR_URL_DEFAULT", "http://default:8080"),
            ("PAYMENT_PROCESSOR_URL_FALLBACK", "https://fallback"),
            ("DEFAULT_FEE", "0.04"),
            ("FALLBACK_FEE", "0.2"),
            ("WORKER_INFLIGHT_MAX", "10"),
            ("WORKER_TAKE_BATCH_MAX", "5"),
            ("WORKER_TAKE_RATE_MAX", "50"),
            ("PROCESSOR_TIMEOUT_MS", "300"),
            ("AMBIGUOUS_SETTLE_MS", "400"),
            ("ROUTER_LATENCY_MAX_MS", "900"),
            ("HOLD_MAX_MS", "0"),
        ])
        .unwrap();
        let router = RouterSettings {
            latency_max_ms: 900,
            hold_max_ms: 0,
            ..RouterSettings::for_fees(400, 2000)
        };
        let expected = (
            (
                3,
                vec![1],
                [400, 2000],
                Endpoint::Unix("/tmp/redis.sock".into()),
                "worker-2".to_string(),
                hosts("default:8080", "fallback"),
                [10, 5, 50],
            ),
            (300, 400, router),
        );
        assert_eq!(summary(&every), expected);
    }

    #[test]
    fn bad_values_name_the_variable() {
        type Read = fn(&Variables) -> Result<(), String>;
        let api: Read = |variables| ApiConfig::from_variables(variables).map(drop);
        let worker: Read = |variables| WorkerConfig::from_variables(variables).map(drop);
        let sim: Read = |variables| sim::SimConfig::from_variables(variables).map(drop);
        let cases: &[(Read, &[(&str, &str)])] = &[
            (api, &[("API_LISTEN", "nowhere")]),
            (api, &[("API_THREADS", "two")]),
            (api, &[("API_THREADS", "-1")]),
            (api, &[("API_THREADS", "0")]),
            (api, &[("API_THREADS", "65")]),
            (api, &[("API_THREADS", "2"), ("API_LISTEN", "unix:/tmp/a.sock")]),
            (api, &[("API_CPUS", "0,x")]),
            (api, &[("REDIS_URL", "redis://")]),
            (worker, &[("REDIS_URL", "nowhere")]),
            (worker, &[("WORKER_THREADS", "0")]),
            (worker, &[("WORKER_THREADS", "many")]),
            (worker, &[("WORKER_CPUS", "a")]),
            (worker, &[("PAYMENT_PROCESSOR_URL_DEFAULT", "ftp://x")]),
            (worker, &[("PAYMENT_PROCESSOR_URL_FALLBACK", "fallback:8080")]),
            (worker, &[("PROCESSOR_CA_FILE", "/nonexistent/ca.pem")]),
            (worker, &[("DEFAULT_FEE", "5%")]),
            (worker, &[("FALLBACK_FEE", "1.5")]),
            (worker, &[("WORKER_INFLIGHT_MAX", "0")]),
            (worker, &[("WORKER_INFLIGHT_MAX", "-1")]),
            (worker, &[("WORKER_TAKE_BATCH_MAX", "0")]),
            (worker, &[("WORKER_TAKE_RATE_MAX", "0")]),
            (worker, &[("WORKER_TAKE_RATE_MAX", "4294967296")]),
            (worker, &[("PROCESSOR_TIMEOUT_MS", "0")]),
            (worker, &[("PROCESSOR_TIMEOUT_MS", "30000")]),
            (worker, &[("AMBIGUOUS_SETTLE_MS", "1e4")]),
            (worker, &[("ROUTER_LATENCY_MAX_MS", "fast")]),
            (worker, &[("HOLD_MAX_MS", "-1")]),
            (sim, &[("SIM_LISTEN", "nowhere")]),
            (sim, &[("SIM_FEE", "5%")]),
            (sim, &[("SIM_FEE", "1.5")]),
            (sim, &[("SIM_TOKEN", "")]),
            (sim, &[("SIM_INFLIGHT_MAX", "0")]),
            (sim, &[("SIM_INFLIGHT_MAX", "-1")]),
            (sim, &[("SIM_QUEUE_MAX", "many")]),
            (sim, &[("SIM_QUEUE_MAX", "1000000")]),
            (sim, &[("SIM_HEALTH_WINDOW_MS", "0")]),
            (sim, &[("SIM_HEALTH_QUEUE_MAX", "100000")]),
            (sim, &[("SIM_FAULT", "sometimes")]),
        ];
        // The variable at fault is each case's first; the message must start with its name.
        for (read, pairs) in cases {
            let error = read(&Variables::from_pairs(pairs)).unwrap_err();
            assert!(error.starts_with(pairs[0].0), "{pairs:?} gave {error:?}");
        }
    }
}
