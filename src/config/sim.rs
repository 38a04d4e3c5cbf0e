//! The processor simulator's configuration: environment → validated [`SimConfig`].
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `SIM_LISTEN` | `0.0.0.0:8080` | `host:port` or `unix:/path` |
//! | `SIM_FEE` | `0.05` | fee per transaction, a decimal fraction in `[0, 1)` |
//! | `SIM_TOKEN` | `123` | initial `X-Rinha-Token` of the admin endpoints |
//! | `SIM_INFLIGHT_MAX` | `800` | requests in progress at once |
//! | `SIM_QUEUE_MAX` | `500` | requests waiting for the limiter |
//! | `SIM_HEALTH_WINDOW_MS` | `5000` | service-health rate-limit window |
//! | `SIM_HEALTH_QUEUE_MAX` | `2` | service-health calls queued for later windows |
//! | `SIM_FAULT` | `none` | fault injected into `POST /payments` answers: `none`, `reset`, `silent`, `truncated`, `garbage`, `bad-body`, `busy` (see `behaviour::Fault`) |
//!
//! An unset variable takes its default; a set but invalid one is an error naming the variable,
//! so a typo in a compose file stops the simulator at start-up instead of changing its behaviour.

use super::Variables;
use crate::{
    net::Endpoint,
    processor_sim::{
        behaviour::{Fault, Fee},
        SimSettings,
    },
};

/// Everything `rinha-processor-sim` needs to start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimConfig {
    /// Where to listen.
    pub listen: Endpoint,
    /// The simulator's own settings, validated.
    pub settings: SimSettings,
}

impl SimConfig {
    /// Reads and validates the `SIM_*` variables.
    ///
    /// # Errors
    /// A message naming the first variable that is invalid.
    pub fn from_env() -> Result<Self, String> {
        Self::from_variables(&Variables::from_env())
    }

    /// As [`SimConfig::from_env`], with the variables read from `variables` (for tests, which
    /// must not change the process environment other tests read).
    ///
    /// Unlike the API and the worker, a variable set to a blank value is not a default here: it
    /// is parsed, and refused if invalid (module doc).
    ///
    /// # Errors
    /// A message naming the first variable that is invalid.
    pub(crate) fn from_variables(variables: &Variables) -> Result<Self, String> {
        let defaults = SimSettings::default();
        let text =
            |name: &str, default: &str| variables.get(name).unwrap_or_else(|| default.to_string());
        let listen = Endpoint::parse(&text("SIM_LISTEN", "0.0.0.0:8080"))
            .map_err(|message| format!("SIM_LISTEN: {message}"))?;
        let fee = Fee::parse(&text("SIM_FEE", "0.05"))
            .map_err(|message| format!("SIM_FEE: {message}"))?;
        let settings = SimSettings {
            fee,
            token: text("SIM_TOKEN", &defaults.token),
            inflight_max: number(variables, "SIM_INFLIGHT_MAX", defaults.inflight_max)?,
            queue_max: number(variables, "SIM_QUEUE_MAX", defaults.queue_max)?,
            health_window_ms: number(variables, "SIM_HEALTH_WINDOW_MS", defaults.health_window_ms)?,
            health_queue_max: number(variables, "SIM_HEALTH_QUEUE_MAX", defaults.health_queue_max)?,
            fault: Fault::parse(&text("SIM_FAULT", defaults.fault.name()))
                .map_err(|message| format!("SIM_FAULT: {message}"))?,
        };
        settings.validate().map_err(|message| format!("{}: {message}", variable_of(&message)))?;
        Ok(Self { listen, settings })
    }
}

/// A non-negative integer variable, or `default` when unset.
fn number<T: std::str::FromStr>(
    variables: &Variables,
    name: &str,
    default: T,
) -> Result<T, String> {
    match variables.get(name) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse()
            .map_err(|_| format!("{name} must be a non-negative integer, got {value:?}")),
    }
}

/// The variable behind a [`SimSettings::validate`] message, which names the settings field.
fn variable_of(message: &str) -> &'static str {
    let fields = [
        ("token", "SIM_TOKEN"),
        ("inflight_max", "SIM_INFLIGHT_MAX"),
        ("queue_max", "SIM_QUEUE_MAX"),
        ("health_window_ms", "SIM_HEALTH_WINDOW_MS"),
        ("health_queue_max", "SIM_HEALTH_QUEUE_MAX"),
    ];
    // Messages start with the field name (a prefix match: `queue_max` is not a prefix of
    // `health_queue_max`).
    fields
        .iter()
        .find(|(field, _)| message.starts_with(field))
        .map(|(_, variable)| *variable)
        .unwrap_or("SIM_*")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<SimConfig, String> {
        SimConfig::from_variables(&Variables::from_pairs(pairs))
    }

    #[test]
    fn defaults() {
        let config = config(&[]).unwrap();
        assert_eq!(config.listen, Endpoint::Tcp("0.0.0.0:8080".to_string()));
        assert_eq!(config.settings, SimSettings::default());
        assert_eq!(config.settings.fee.text(), "0.05");
        assert_eq!(config.settings.inflight_max, 800);
        assert_eq!(config.settings.queue_max, 500);
        assert_eq!(config.settings.health_window_ms, 5000);
        assert_eq!(config.settings.health_queue_max, 2);
        assert_eq!(config.settings.token, "123");
    }

    #[test]
    fn every_variable_is_read() {
        let config = config(&[
            ("SIM_LISTEN", "unix:/tmp/sim.sock"),
            ("SIM_FEE", "0.15"),
            ("SIM_TOKEN", "secret"),
            ("SIM_INFLIGHT_MAX", "2"),
            ("SIM_QUEUE_MAX", "0"),
            ("SIM_HEALTH_WINDOW_MS", "300"),
            ("SIM_HEALTH_QUEUE_MAX", "1"),
            ("SIM_FAULT", "silent"),
        ])
        .unwrap();
        assert_eq!(config.settings.fault, Fault::Silent);
        assert_eq!(config.listen, Endpoint::Unix("/tmp/sim.sock".into()));
        assert_eq!(config.settings.fee.text(), "0.15");
        assert_eq!(config.settings.token, "secret");
        assert_eq!(config.settings.inflight_max, 2);
        assert_eq!(config.settings.queue_max, 0);
        assert_eq!(config.settings.health_window_ms, 300);
        assert_eq!(config.settings.health_queue_max, 1);
    }

    // Bad values: `config::tests::bad_values_name_the_variable`, one table for every binary.
}
