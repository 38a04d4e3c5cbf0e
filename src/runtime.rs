//! Thread-per-core start-up: one monoio runtime per thread, optional CPU pinning, and the choice
//! between io_uring and epoll.
//!
//! # Driver choice
//! io_uring is used when `monoio::utils::detect_uring()` passes *and* the ring actually builds
//! (a low `memlock` limit can make the build fail after a passing probe). Otherwise the thread
//! falls back to the epoll ("legacy") driver. Docker's default seccomp profile refuses io_uring
//! without a word, so the driver that won is logged by every thread at start-up.
//! `MONOIO_FORCE_LEGACY_DRIVER=1` forces epoll for A/B runs.
//!
//! # Open files
//! Every connection is a descriptor. The compose file asks for no `nofile` ulimit (an unprivileged
//! or rootless engine refuses to raise a hard limit), so each binary raises its own soft limit to
//! the hard one at start-up ([`raise_open_files_limit`]), which needs no privilege.

use std::{future::Future, io, thread};

use monoio::{IoUringDriver, LegacyDriver, RuntimeBuilder};

/// Submission queue entries per ring: each in-flight socket operation takes one, and a thread
/// serves a few hundred connections at most.
pub(crate) const RING_ENTRIES: u32 = 1024;

/// What a binary's start-up returns: a configuration or start-up error, for [`exit_on_error`].
pub type StartError = Box<dyn std::error::Error + Send + Sync>;

/// A binary's `main`: runs `run` and, if it fails, prints `name: error` and exits with status 2
/// (a configuration or start-up error; a service that stops later exits on its own).
pub fn exit_on_error(name: &str, run: impl FnOnce() -> Result<(), StartError>) {
    if let Err(error) = run() {
        eprintln!("{name}: {error}");
        std::process::exit(2);
    }
}

/// Runs `body(thread_index)` on `threads` threads, each with its own runtime, and waits for all.
///
/// Thread `i` is pinned to `cpus[i % cpus.len()]` when `cpus` is not empty (a failure to pin is
/// logged, not fatal: the contest machine may have fewer cores than configured).
///
/// # Errors
/// A thread that could not be spawned, or that panicked.
pub fn run_per_core<F, Fut>(role: &str, threads: usize, cpus: &[usize], body: F) -> io::Result<()>
where
    F: Fn(usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = ()>,
{
    assert!(threads >= 1, "at least one thread");
    raise_open_files_limit();
    let mut handles = Vec::with_capacity(threads);
    for index in 0..threads {
        let body = body.clone();
        let cpu = (!cpus.is_empty()).then(|| cpus[index % cpus.len()]);
        let name = format!("{role}-{index}");
        let handle = thread::Builder::new().name(name).spawn(move || {
            if let Some(cpu) = cpu {
                pin_to_cpu(cpu);
            }
            block_on(move || body(index));
        })?;
        handles.push(handle);
    }
    for handle in handles {
        handle.join().map_err(|_| io::Error::other("a runtime thread panicked"))?;
    }
    Ok(())
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and logs the result; returns the new soft
/// limit. Raising a soft limit up to the hard one needs no privilege, so a failure is unexpected:
/// it is logged and start-up goes on with the limit it had.
pub fn raise_open_files_limit() -> u64 {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit only read or write the struct passed by pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        log::warn!("getrlimit(NOFILE): {}", io::Error::last_os_error());
        return 0;
    }
    let before = limit.rlim_cur;
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            log::warn!(
                "setrlimit(NOFILE, {}): {}; keeping {before}",
                limit.rlim_max,
                io::Error::last_os_error()
            );
            return before;
        }
    }
    log::info!("open files limit {} (was {before})", limit.rlim_cur);
    limit.rlim_cur
}

fn pin_to_cpu(cpu: usize) {
    if core_affinity::set_for_current(core_affinity::CoreId { id: cpu }) {
        log::info!("pinned to cpu {cpu}");
    } else {
        log::warn!("could not pin to cpu {cpu}; running unpinned");
    }
}

/// Builds this thread's runtime (io_uring if it works here, else epoll) and runs `make()` on it.
pub fn block_on<F, Fut>(make: F) -> Fut::Output
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    if monoio::utils::detect_uring() {
        match RuntimeBuilder::<IoUringDriver>::new()
            .with_entries(RING_ENTRIES)
            .enable_timer()
            .build()
        {
            Ok(mut runtime) => {
                return runtime.block_on(async move {
                    log::info!("driver=io_uring");
                    make().await
                })
            }
            Err(error) => log::warn!(
                "io_uring probe passed but the ring did not build ({error}); falling back to epoll"
            ),
        }
    }
    let mut runtime = RuntimeBuilder::<LegacyDriver>::new()
        .enable_timer()
        .build()
        .expect("the epoll runtime builds on every Linux");
    runtime.block_on(async move {
        log::info!("driver=epoll");
        make().await
    })
}
