//! Shared harness for the end-to-end tests: child processes (redis-server, the simulators, the
//! API, the worker) that are killed on drop, the one blocking HTTP/1.1 client ([`http`]), an
//! in-process simulator and its client ([`sim`]), and bounded polling.
//!
//! Every wait here is a *bound* on how long to keep polling for a condition, never a timing
//! assertion: a slow machine makes tests slower, not red.

#![allow(dead_code)]

pub mod http;
pub mod sim;
pub mod stack;

use std::{
    net::TcpListener,
    os::unix::net::UnixStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

// Not every test crate uses each of these.
#[allow(unused_imports)]
pub use self::http::{raw_exchange, request, Address, Response};
use self::sim::SimClient;
#[allow(unused_imports)]
pub use self::stack::Stack;

/// How long any wait in these tests may poll before the test fails.
pub const WAIT_BOUND: Duration = Duration::from_secs(60);

/// A child process killed (SIGKILL) and reaped on drop.
pub struct Process {
    pub name: String,
    child: Option<Child>,
}

impl Process {
    pub fn spawn(
        name: &str,
        program: &str,
        arguments: &[&str],
        environment: &[(&str, String)],
    ) -> Self {
        let mut command = Command::new(program);
        command.args(arguments).stdin(Stdio::null());
        if std::env::var_os("RINHA_TEST_VERBOSE").is_none() {
            command.stdout(Stdio::null()).stderr(Stdio::null());
        }
        for (key, value) in environment {
            command.env(key, value);
        }
        let child =
            command.spawn().unwrap_or_else(|error| panic!("cannot start {program}: {error}"));
        Self { name: name.to_string(), child: Some(child) }
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|child| child.try_wait().ok().flatten().is_none())
    }

    /// Sends `signal` (a name for kill(1), such as `STOP` or `CONT`) to the process.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("a running process").id();
        let status = Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status();
        assert!(status.is_ok_and(|status| status.success()), "kill -{signal} {pid}");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A private directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let path = std::env::temp_dir().join(format!("rinha-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A free TCP port on loopback (bound then released; the window for a clash is tiny).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls `condition` every 20 ms until it holds, or panics after [`WAIT_BOUND`].
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < WAIT_BOUND, "gave up waiting for: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A redis-server on a private Unix socket (no TCP); without persistence, or with the contest's
/// append-only file in its private directory.
pub struct Redis {
    pub socket: PathBuf,
    pub process: Process,
    persistent: bool,
    directory: TempDir,
}

impl Redis {
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// With `appendonly yes`, `appendfsync no` and its data in a private directory that survives
    /// [`Redis::kill`], so [`Redis::restart`] reloads it.
    pub fn start_persistent() -> Self {
        Self::start_with(true)
    }

    fn start_with(persistent: bool) -> Self {
        let directory = TempDir::new("redis");
        let socket = directory.0.join("redis.sock");
        let process = Self::spawn(&socket, &directory.0, persistent);
        let redis = Self { socket, process, persistent, directory };
        redis.wait_ready();
        redis
    }

    fn spawn(socket: &Path, directory: &Path, persistent: bool) -> Process {
        let mut arguments = vec![
            "--port",
            "0",
            "--unixsocket",
            socket.to_str().unwrap(),
            "--unixsocketperm",
            "700",
            "--save",
            "",
            "--dir",
            directory.to_str().unwrap(),
        ];
        if persistent {
            arguments.extend(["--appendonly", "yes", "--appendfsync", "no"]);
        } else {
            arguments.extend(["--appendonly", "no"]);
        }
        Process::spawn("redis", "redis-server", &arguments, &[])
    }

    /// Waits until Redis answers PONG (after a restart it answers LOADING while it reads the AOF).
    fn wait_ready(&self) {
        wait_until("redis ready", || {
            UnixStream::connect(&self.socket).is_ok() && self.cli(&["PING"]) == "PONG"
        });
    }

    /// SIGKILL: the process dies at once, with whatever it had not written.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Starts Redis again on the same socket and directory, and waits until it answers.
    pub fn restart(&mut self) {
        self.process.kill();
        self.process = Self::spawn(&self.socket, &self.directory.0, self.persistent);
        self.wait_ready();
    }

    pub fn url(&self) -> String {
        format!("unix:{}", self.socket.display())
    }

    /// Runs one command with redis-cli and returns its output.
    pub fn cli(&self, arguments: &[&str]) -> String {
        let output = Command::new("redis-cli")
            .arg("-s")
            .arg(&self.socket)
            .args(arguments)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }
}

/// A processor simulator process on a free TCP port.
pub struct Simulator {
    pub port: u16,
    pub process: Process,
}

pub const TOKEN: &str = "123";
pub use rinha::processor_sim::TOKEN_HEADER;

impl Simulator {
    pub fn start(fee: &str) -> Self {
        let port = free_port();
        let process = Process::spawn(
            "simulator",
            env!("CARGO_BIN_EXE_rinha-processor-sim"),
            &[],
            &[("SIM_LISTEN", format!("127.0.0.1:{port}")), ("SIM_FEE", fee.to_string())],
        );
        let client = SimClient::new(port);
        wait_until("simulator up", || client.summary_response(TOKEN, [None, None]).is_ok());
        Self { port, process }
    }

    pub fn address(&self) -> Address {
        Address::Tcp(self.port)
    }

    /// A client for this simulator's routes.
    pub fn client(&self) -> SimClient {
        SimClient::new(self.port)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn set_delay(&self, delay_ms: u64) {
        let response = self.client().set_delay(TOKEN, delay_ms).unwrap();
        assert_eq!(response.status, 200, "{response:?}");
    }

    pub fn set_failure(&self, failure: bool) {
        let response = self.client().set_failure(TOKEN, failure).unwrap();
        assert_eq!(response.status, 200, "{response:?}");
    }

    pub fn set_fault(&self, fault: &str) {
        let response = self.client().set_fault(TOKEN, fault).unwrap();
        assert_eq!(response.status, 200, "{response:?}");
    }

    /// (totalRequests, totalAmount in cents) from the admin summary for an optional window.
    pub fn admin_summary(&self, query: &str) -> (u64, u64) {
        let path = format!("/admin/payments-summary{query}");
        let response = self.client().send("GET", &path, &[(TOKEN_HEADER, TOKEN)], b"").unwrap();
        assert_eq!(response.status, 200, "{response:?}");
        let value = response.json();
        (value["totalRequests"].as_u64().unwrap(), cents(&value["totalAmount"]))
    }

    /// Whether this simulator has the payment.
    pub fn has_payment(&self, id: &str) -> bool {
        let response = self.client().get_payment(id).unwrap();
        assert!(response.status == 200 || response.status == 404, "{response:?}");
        response.status == 200
    }

    /// The stored requestedAt of a payment.
    pub fn requested_at(&self, id: &str) -> Option<String> {
        let response = self.client().get_payment(id).unwrap();
        (response.status == 200)
            .then(|| response.json()["requestedAt"].as_str().unwrap().to_string())
    }
}

/// A JSON number with at most two places, as cents (via its text, to stay exact).
pub fn cents(value: &serde_json::Value) -> u64 {
    let text = value.to_string();
    rinha::number::parse_decimal(text.as_bytes(), 2)
        .unwrap_or_else(|error| panic!("{text} is not an amount in cents: {error:?}"))
}

/// The API on a Unix socket.
pub struct Api {
    pub address: Address,
    pub process: Process,
}

impl Api {
    pub fn start(redis: &Redis, directory: &Path, name: &str) -> Self {
        let socket = directory.join(format!("{name}.sock"));
        let process = Process::spawn(
            name,
            env!("CARGO_BIN_EXE_rinha-api"),
            &[],
            &[("API_LISTEN", format!("unix:{}", socket.display())), ("REDIS_URL", redis.url())],
        );
        let address = Address::Unix(socket.clone());
        wait_until("api up", || {
            request(&address, "GET", "/payments-summary", &[], "")
                .is_ok_and(|response| response.status == 200)
        });
        Self { address, process }
    }

    /// (default, fallback) as (count, cents) for a query like `?from=..&to=..` or "".
    pub fn summary(&self, query: &str) -> ((u64, u64), (u64, u64)) {
        let response =
            request(&self.address, "GET", &format!("/payments-summary{query}"), &[], "").unwrap();
        assert_eq!(response.status, 200, "{response:?}");
        let value = response.json();
        let pick = |name: &str| {
            (value[name]["totalRequests"].as_u64().unwrap(), cents(&value[name]["totalAmount"]))
        };
        (pick("default"), pick("fallback"))
    }

    pub fn pay(&self, id: &str, amount: &str) -> u16 {
        let body = format!("{{\"correlationId\":\"{id}\",\"amount\":{amount}}}");
        request(&self.address, "POST", "/payments", &[], &body).unwrap().status
    }
}

/// Starts a worker process against `redis` and the two simulators.
pub fn start_worker(
    redis: &Redis,
    default: &Simulator,
    fallback: &Simulator,
    extra: &[(&str, &str)],
) -> Process {
    let mut environment = vec![
        ("REDIS_URL", redis.url()),
        ("PAYMENT_PROCESSOR_URL_DEFAULT", default.url()),
        ("PAYMENT_PROCESSOR_URL_FALLBACK", fallback.url()),
        ("WORKER_ID", "test-worker".to_string()),
    ];
    for (key, value) in extra {
        environment.push((key, value.to_string()));
    }
    Process::spawn("worker", env!("CARGO_BIN_EXE_rinha-worker"), &[], &environment)
}

/// A random UUIDv4 string (the tests need unique ids, not cryptographic ones).
pub fn uuid() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
            as u64;
    let mixed = nanos
        ^ (COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9E37_79B9_7F4A_7C15))
        ^ ((std::process::id() as u64) << 32);
    let low = mixed.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        (mixed >> 32) as u32,
        (mixed >> 16) as u16,
        (mixed & 0xfff) as u16,
        (low >> 52) as u16,
        low & 0xffff_ffff_ffff
    )
}

/// Runs `test` once under io_uring (when this machine has it) and once under epoll.
pub fn on_both_drivers<F, Fut>(test: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use monoio::{IoUringDriver, LegacyDriver, RuntimeBuilder};
    if monoio::utils::detect_uring() {
        RuntimeBuilder::<IoUringDriver>::new().enable_timer().build().unwrap().block_on(test());
    }
    RuntimeBuilder::<LegacyDriver>::new().enable_timer().build().unwrap().block_on(test());
}
