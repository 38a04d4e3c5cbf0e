//! `rinha-api`: the public HTTP API. Configuration: see `config::ApiConfig` and the README.

use rinha::{api, config, runtime};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    runtime::exit_on_error("rinha-api", run);
}

fn run() -> Result<(), runtime::StartError> {
    config::init_log()?;
    let config = config::ApiConfig::from_env()?;
    log::info!("rinha-api starting: {config:?}");
    let listen = config.listen.clone();
    let redis = config.redis.clone();
    runtime::run_per_core("api", config.threads, &config.cpus, move |_| {
        let (listen, redis) = (listen.clone(), redis.clone());
        async move {
            if let Err(error) = api::run(listen, redis).await {
                log::error!("api stopped: {error}");
                std::process::exit(1);
            }
        }
    })?;
    Ok(())
}
