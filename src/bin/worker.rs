//! `rinha-worker`: pays queued payments through the processors. Configuration: see
//! `config::WorkerConfig` and the README.

use rinha::{config, runtime, worker};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    if let Err(error) = run() {
        eprintln!("rinha-worker: {error}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    config::init_log()?;
    let config = config::WorkerConfig::from_env()?;
    log::info!("rinha-worker starting: {config:?}");
    let settings = config.settings.clone();
    runtime::run_per_core("worker", config.threads, &config.cpus, move |index| {
        worker::run(settings.clone(), index)
    })?;
    Ok(())
}
