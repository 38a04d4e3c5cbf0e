//! `rinha-processor-sim`: the project's stand-in for the official payment processor.
//!
//! Wiring only: read [`SimConfig`] from the environment, log it, bind, and serve on one thread.
//! One thread because the simulator's state (its books and limiters) lives in memory on that
//! thread; every delay is a timer, so one thread keeps up with the load test.

use std::process::ExitCode;

use rinha::{
    config::{self, sim::SimConfig},
    processor_sim::{self, LISTEN_BACKLOG},
    runtime,
};

fn main() -> ExitCode {
    if let Err(message) = config::init_log() {
        eprintln!("configuration: {message}");
        return ExitCode::FAILURE;
    }
    let config = match SimConfig::from_env() {
        Ok(config) => config,
        Err(message) => {
            log::error!("configuration: {message}");
            return ExitCode::FAILURE;
        }
    };
    let settings = &config.settings;
    log::info!(
        "processor-sim listen={} fee={} inflight_max={} queue_max={} health_window_ms={} \
health_queue_max={}",
        config.listen,
        settings.fee.text(),
        settings.inflight_max,
        settings.queue_max,
        settings.health_window_ms,
        settings.health_queue_max,
    );
    runtime::raise_open_files_limit();
    runtime::block_on(move || async move {
        let listener = match config.listen.bind(LISTEN_BACKLOG) {
            Ok(listener) => listener,
            Err(error) => {
                log::error!("bind {}: {error}", config.listen);
                return ExitCode::FAILURE;
            }
        };
        processor_sim::serve(listener, config.settings).await;
        ExitCode::SUCCESS
    })
}
