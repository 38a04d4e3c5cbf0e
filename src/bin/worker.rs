//! `rinha-worker`: pays queued payments through the processors. Configuration: see
//! `config::WorkerConfig` and the README.

use rinha::{config, runtime, worker};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    runtime::exit_on_error("rinha-worker", run);
}

fn run() -> Result<(), runtime::StartError> {
    config::init_log()?;
    let config = config::WorkerConfig::from_env()?;
    log::info!("rinha-worker starting: {config:?}");
    let settings = config.settings.clone();
    runtime::run_per_core("worker", config.threads, &config.cpus, move |index| {
        worker::run(settings.clone(), index)
    })?;
    Ok(())
}
