//! `HttpClient` over `https://`: the rustls client stream, certificate checks, keep-alive reuse
//! and the `NotSent`/`Ambiguous` split.
//!
//! Method: each test makes a CA and a server certificate with rcgen, writes the CA to a PEM file
//! (loaded through `TlsConfig::new`, as `PROCESSOR_CA_FILE` is), and starts a tiny TLS server on
//! std threads (`rustls::ServerConnection` + `StreamOwned` over a std `TcpListener`). The server
//! counts accepted TCP connections and served requests, and answers each request with
//! `<method> <path> <body>` as the body. The client runs under monoio with the timer, under
//! io_uring when this machine has it and always under epoll.

mod common;

use common::on_both_drivers;

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::PathBuf,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    thread,
    time::Duration,
};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rinha::http::{
    client::{ClientError, HttpClient, Origin},
    tls::TlsConfig,
};
use rustls::{
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer},
    ServerConfig, ServerConnection, StreamOwned,
};

/// Bound on any single client request in these tests (a bound, not a timing assertion).
const TIMEOUT: Duration = Duration::from_secs(10);

/// A CA (as a PEM file) and a server configuration whose certificate that CA issued.
struct Pki {
    ca_file: PathBuf,
    server: Arc<ServerConfig>,
}

impl Pki {
    /// A fresh CA and a server certificate for `server_name`.
    fn new(server_name: &str) -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.distinguished_name.push(DnType::CommonName, "rinha test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let server_key = KeyPair::generate().unwrap();
        let server_params = CertificateParams::new(vec![server_name.to_string()]).unwrap();
        let server_certificate = server_params.signed_by(&server_key, &ca).unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
        let chain: Vec<CertificateDer<'static>> = vec![server_certificate.der().clone()];
        let server =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .unwrap();
        let unique = format!("{}-{:?}", std::process::id(), thread::current().id());
        let ca_file =
            std::env::temp_dir().join(format!("rinha-test-ca-{unique}-{server_name}.pem"));
        std::fs::write(&ca_file, ca.pem()).unwrap();
        Self { ca_file, server: Arc::new(server) }
    }

    /// The client configuration that trusts this CA (and the webpki roots).
    fn trusting_client(&self) -> TlsConfig {
        TlsConfig::new(Some(&self.ca_file)).unwrap()
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.ca_file);
    }
}

/// What the test server saw. The accept thread runs until the test process ends.
struct Server {
    port: u16,
    accepted: Arc<AtomicUsize>,
    served: Arc<AtomicUsize>,
}

impl Server {
    /// A TLS HTTP server on `localhost` (the name the client resolves, so the same family).
    fn start(config: Arc<ServerConfig>) -> Self {
        let listener = TcpListener::bind("localhost:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let served = Arc::new(AtomicUsize::new(0));
        let (accepted_count, served_count) = (accepted.clone(), served.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                accepted_count.fetch_add(1, Ordering::SeqCst);
                let (config, served) = (config.clone(), served_count.clone());
                thread::spawn(move || serve(stream, config, &served));
            }
        });
        Self { port, accepted, served }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }
}

/// Serves one connection: keep-alive requests until the client closes or TLS fails.
/// `GET /close` closes without answering (a request that reached the server, then a reset).
fn serve(stream: TcpStream, config: Arc<ServerConfig>, served: &AtomicUsize) {
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut tls = StreamOwned::new(ServerConnection::new(config).unwrap(), stream);
    let mut pending = Vec::new();
    while let Some((method, path, body)) = read_request(&mut tls, &mut pending) {
        served.fetch_add(1, Ordering::SeqCst);
        if path == "/close" {
            return;
        }
        let mut answer = format!("{method} {path} {body}");
        if path == "/large" {
            answer.push_str(&"x".repeat(2000));
        }
        let response =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{answer}", answer.len());
        if tls.write_all(response.as_bytes()).and_then(|()| tls.flush()).is_err() {
            return;
        }
    }
}

/// Reads one request (head plus a `Content-Length` body); `None` at a close or an error.
fn read_request(
    tls: &mut StreamOwned<ServerConnection, TcpStream>,
    pending: &mut Vec<u8>,
) -> Option<(String, String, String)> {
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(head_end) = pending.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8(pending[..head_end].to_vec()).ok()?;
            let length: usize = head
                .lines()
                .filter_map(|line| line.split_once(':'))
                .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
                .map_or(0, |(_, value)| value.trim().parse().unwrap());
            let end = head_end + 4 + length;
            if pending.len() >= end {
                let mut words = head.split(' ');
                let method = words.next()?.to_string();
                let path = words.next()?.to_string();
                let body = String::from_utf8(pending[head_end + 4..end].to_vec()).ok()?;
                pending.drain(..end);
                return Some((method, path, body));
            }
        }
        match tls.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(count) => pending.extend_from_slice(&chunk[..count]),
        }
    }
}

fn client(port: u16, tls: TlsConfig) -> HttpClient {
    HttpClient::with_tls(Origin::parse(&format!("https://localhost:{port}")).unwrap(), 4, tls)
}

/// One `GET /first` through a fresh client, which must fail as `NotSent` with no body.
async fn assert_not_sent(port: u16, tls: TlsConfig) {
    let mut body = Vec::new();
    let status = client(port, tls).request("GET", b"/first", &[], TIMEOUT, &mut body).await;
    assert_eq!(status, Err(ClientError::NotSent));
    assert!(body.is_empty());
}

#[test]
fn https_gets_status_and_body_and_reuses_the_connection() {
    let pki = Pki::new("localhost");
    on_both_drivers(|| async {
        let server = Server::start(pki.server.clone());
        let client = client(server.port, pki.trusting_client());
        let mut body = Vec::new();
        let status = client.request("GET", b"/first", &[], TIMEOUT, &mut body).await;
        assert_eq!(status, Ok(200));
        assert_eq!(body, b"GET /first ");
        body.clear();
        let payment = br#"{"amount":19.9}"#;
        let status = client.request("POST", b"/payments", payment, TIMEOUT, &mut body).await;
        assert_eq!(status, Ok(200));
        assert_eq!(body, br#"POST /payments {"amount":19.9}"#);
        body.clear();
        // A body of 2 KiB: more than one small read on the client side, same connection.
        let status = client.request("GET", b"/large", &[], TIMEOUT, &mut body).await;
        assert_eq!(status, Ok(200));
        assert_eq!(body.len(), "GET /large ".len() + 2000);
        assert_eq!(server.accepted(), 1, "the keep-alive connection is reused");
        assert_eq!(server.served(), 3);
    });
}

#[test]
fn an_untrusted_certificate_is_not_sent() {
    let pki = Pki::new("localhost");
    on_both_drivers(|| async {
        let server = Server::start(pki.server.clone());
        // webpki roots only: the private CA is unknown.
        assert_not_sent(server.port, TlsConfig::new(None).unwrap()).await;
        assert_eq!(server.served(), 0);
    });
}

#[test]
fn a_certificate_for_another_name_is_not_sent() {
    let pki = Pki::new("processor.example");
    on_both_drivers(|| async {
        let server = Server::start(pki.server.clone());
        assert_not_sent(server.port, pki.trusting_client()).await;
        assert_eq!(server.served(), 0);
    });
}

#[test]
fn a_closed_port_is_not_sent() {
    let pki = Pki::new("localhost");
    on_both_drivers(|| async {
        let port = TcpListener::bind("localhost:0").unwrap().local_addr().unwrap().port();
        assert_not_sent(port, pki.trusting_client()).await;
    });
}

#[test]
fn a_plain_http_server_on_an_https_url_is_not_sent() {
    let pki = Pki::new("localhost");
    on_both_drivers(|| async {
        let listener = TcpListener::bind("localhost:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut hello = [0u8; 512];
            let _ = stream.read(&mut hello);
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        });
        assert_not_sent(port, pki.trusting_client()).await;
    });
}

#[test]
fn a_close_after_the_request_is_ambiguous_and_the_next_request_reconnects() {
    let pki = Pki::new("localhost");
    on_both_drivers(|| async {
        let server = Server::start(pki.server.clone());
        let client = client(server.port, pki.trusting_client());
        let mut body = Vec::new();
        let status = client.request("GET", b"/close", &[], TIMEOUT, &mut body).await;
        assert_eq!(status, Err(ClientError::Ambiguous));
        assert_eq!(server.served(), 1, "the server saw the request");
        let status = client.request("GET", b"/again", &[], TIMEOUT, &mut body).await;
        assert_eq!(status, Ok(200));
        assert_eq!(body, b"GET /again ");
        assert_eq!(server.accepted(), 2, "the failed connection was dropped, not pooled");
    });
}

#[test]
fn handshake_errors_are_invalid_data_naming_the_tls_error() {
    let pki = Pki::new("localhost");
    on_both_drivers(|| async {
        let server = Server::start(pki.server.clone());
        let endpoint = rinha::net::Endpoint::parse(&format!("localhost:{}", server.port));
        let stream = endpoint.unwrap().connect().await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap().to_owned();
        let untrusted = TlsConfig::new(None).unwrap();
        let Err(error) = rinha::http::tls::connect(stream, &untrusted, name).await else {
            panic!("the handshake must fail without the private CA");
        };
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        assert!(error.to_string().contains("UnknownIssuer"), "{error}");
    });
}
