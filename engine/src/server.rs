//! The listeners: one per instance, plain HTTP or TLS (rustls), each request through the
//! library's [`Deployment`], one access-log line per request; and the optional admin
//! listener serving `GET /metrics`.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use feedgate::auth::basic::parse_basic;
use feedgate::auth::decide::{Effective, InstanceAuth};
use feedgate::auth::headers;
use feedgate::auth::token::presented_token;
use feedgate::http::serve::{Deployment, Instance, KindParams};
use feedgate::http::webhook::check_body_size;
use feedgate::http::{ApiError, Request, Response};
use feedgate::instant::Instant;
use feedgate::store::Store;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::metrics::{self, InstanceMetrics, Metrics};

/// How an instance listens.
#[derive(Debug, Clone)]
pub struct Listen {
    /// Address and port (port 0: any free port).
    pub addr: SocketAddr,
    /// Certificate chain and key files.
    pub tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

/// An instance bound to its socket, ready to serve.
pub struct Bound {
    instance: Arc<Instance>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    local: SocketAddr,
    metrics: Option<Arc<InstanceMetrics>>,
}

impl std::fmt::Debug for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bound")
            .field("instance", &self.instance.name)
            .field("local", &self.local)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Bound {
    /// The instance name.
    pub fn name(&self) -> &str {
        &self.instance.name
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// `http://addr:port/` or `https://...`.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}/", self.local)
    }
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A port could not be bound.
    #[error("instance '{instance}': cannot listen on {addr}: {source}")]
    Bind {
        /// Instance name.
        instance: String,
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// Certificate or key unusable.
    #[error("instance '{instance}': {message}")]
    Tls {
        /// Instance name.
        instance: String,
        /// What is wrong.
        message: String,
    },
    /// The admin port could not be bound.
    #[error("admin.port: cannot listen on {addr}: {source}")]
    AdminBind {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
}

/// Binds every instance's socket (all or nothing). With `metrics`, each instance's series
/// are created now and its requests recorded.
pub async fn bind(
    instances: Vec<(Instance, Listen)>,
    metrics: Option<&Metrics>,
) -> Result<Vec<Bound>, StartError> {
    let mut out = Vec::with_capacity(instances.len());
    for (instance, listen) in instances {
        let tls = match &listen.tls {
            None => None,
            Some((cert, key)) => Some(acceptor(cert, key).map_err(|message| StartError::Tls {
                instance: instance.name.clone(),
                message,
            })?),
        };
        let listener = TcpListener::bind(listen.addr)
            .await
            .map_err(|source| StartError::Bind {
                instance: instance.name.clone(),
                addr: listen.addr,
                source,
            })?;
        let local = listener.local_addr().map_err(|source| StartError::Bind {
            instance: instance.name.clone(),
            addr: listen.addr,
            source,
        })?;
        let metrics = metrics.map(|m| {
            m.instance(
                &instance.name,
                matches!(instance.params, KindParams::Export(_)),
            )
        });
        out.push(Bound {
            instance: Arc::new(instance),
            listener,
            tls,
            local,
            metrics,
        });
    }
    Ok(out)
}

/// The admin listener, bound.
#[derive(Debug)]
pub struct AdminBound {
    listener: TcpListener,
    local: SocketAddr,
    metrics: Arc<Metrics>,
}

impl AdminBound {
    /// `http://addr:port/metrics`.
    pub fn url(&self) -> String {
        format!("http://{}/metrics", self.local)
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

/// Binds the admin port.
pub async fn bind_admin(addr: SocketAddr, metrics: Arc<Metrics>) -> Result<AdminBound, StartError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::AdminBind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| StartError::AdminBind { addr, source })?;
    Ok(AdminBound {
        listener,
        local,
        metrics,
    })
}

fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|i| i.collect::<Result<_, _>>())
        .map_err(|e| format!("tls_cert {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("tls_cert {}: no certificate found", cert.display()));
    }
    let key =
        PrivateKeyDer::from_pem_file(key).map_err(|e| format!("tls_key {}: {e}", key.display()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| format!("tls: {e}"))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves every bound instance (and the admin listener) until `shutdown` resolves, then stops
/// accepting and waits (up to 10 s) for requests in flight.
pub async fn serve<S: Store + 'static>(
    deployment: Arc<Deployment<S>>,
    bound: Vec<Bound>,
    admin: Option<AdminBound>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = Arc::new(GracefulShutdown::new());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut loops = Vec::new();
    if let Some(admin) = admin {
        let graceful = Arc::clone(&graceful);
        let mut stop = stop_rx.clone();
        loops.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    accepted = admin.listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        spawn_admin_connection(Arc::clone(&admin.metrics), stream, &graceful);
                    }
                }
            }
        }));
    }
    for b in bound {
        let deployment = Arc::clone(&deployment);
        let graceful = Arc::clone(&graceful);
        let mut stop = stop_rx.clone();
        loops.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    accepted = b.listener.accept() => {
                        let Ok((stream, peer)) = accepted else { continue };
                        let _ = stream.set_nodelay(true);
                        spawn_connection(
                            Arc::clone(&deployment),
                            Arc::clone(&b.instance),
                            b.metrics.clone(),
                            b.tls.clone(),
                            stream,
                            peer,
                            &graceful,
                        );
                    }
                }
            }
        }));
    }
    shutdown.await;
    let _ = stop_tx.send(true);
    for l in loops {
        let _ = l.await;
    }
    if let Ok(graceful) = Arc::try_unwrap(graceful) {
        let _ = tokio::time::timeout(Duration::from_secs(10), graceful.shutdown()).await;
    }
}

fn spawn_admin_connection(
    metrics: Arc<Metrics>,
    stream: tokio::net::TcpStream,
    graceful: &GracefulShutdown,
) {
    let service = service_fn(move |req: hyper::Request<Incoming>| {
        let response = admin_answer(&metrics, req.method(), req.uri().path());
        async move { Ok::<_, Infallible>(response) }
    });
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    let conn = graceful.watch(conn);
    tokio::spawn(async move {
        let _ = conn.await;
    });
}

/// The admin port: `GET /metrics` (and `HEAD`), 405 for other methods there, 404 elsewhere.
fn admin_answer(
    metrics: &Metrics,
    method: &hyper::Method,
    path: &str,
) -> hyper::Response<Full<Bytes>> {
    let response = if path != "/metrics" {
        Response::new(404, "text/plain; charset=utf-8", "not found; try /metrics")
    } else if method == hyper::Method::GET || method == hyper::Method::HEAD {
        Response::new(200, metrics::CONTENT_TYPE, metrics.encode())
            .with_header("Cache-Control", "no-store")
    } else {
        Response::new(405, "text/plain; charset=utf-8", "Method Not Allowed")
            .with_header("Allow", "GET, HEAD")
    };
    to_hyper(response)
}

fn spawn_connection<S: Store + 'static>(
    deployment: Arc<Deployment<S>>,
    instance: Arc<Instance>,
    metrics: Option<Arc<InstanceMetrics>>,
    tls: Option<TlsAcceptor>,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    graceful: &GracefulShutdown,
) {
    let service = service_fn(move |req| {
        let deployment = Arc::clone(&deployment);
        let instance = Arc::clone(&instance);
        let metrics = metrics.clone();
        async move {
            Ok::<_, Infallible>(answer(&deployment, &instance, metrics.as_deref(), req, peer).await)
        }
    });
    let builder = hyper::server::conn::http1::Builder::new();
    match tls {
        None => {
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            let conn = graceful.watch(conn);
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
        Some(acceptor) => {
            // The TLS handshake happens in the task; the graceful watcher covers the HTTP
            // part once the handshake is done.
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                let Ok(Ok(tls_stream)) =
                    tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await
                else {
                    return;
                };
                let conn = builder.serve_connection(TokioIo::new(tls_stream), service);
                let _ = watcher.watch(conn).await;
            });
        }
    }
}

/// One request: admit (no body read), then read the body within the webhook limit, then the
/// integration.
async fn answer<S: Store>(
    deployment: &Deployment<S>,
    instance: &Instance,
    metrics: Option<&InstanceMetrics>,
    req: hyper::Request<Incoming>,
    peer: SocketAddr,
) -> hyper::Response<Full<Bytes>> {
    let started = std::time::Instant::now();
    let (parts, body) = req.into_parts();
    let mut request = Request {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: Bytes::new(),
    };
    let now = Instant::now();
    let (response, principal) = match admit(deployment, instance, &request, now).await {
        Err(e) => (e.into_response(), None),
        Ok(principal) => {
            let read = match &instance.params {
                KindParams::Webhook(params) => read_body(&request, body, params).await,
                _ => Ok(Bytes::new()),
            };
            match read {
                Err(e) => (e.into_response(), Some(principal)),
                Ok(bytes) => {
                    request.body = bytes;
                    (
                        deployment.handle(instance, &request, now).await,
                        Some(principal),
                    )
                }
            }
        }
    };
    let elapsed = started.elapsed();
    if let Some(metrics) = metrics {
        let served = (response.status == 200)
            .then(|| response.header("X-EDL-Size")?.parse().ok())
            .flatten();
        metrics.record(response.status, response.body.len(), elapsed, served);
    }
    tracing::info!(
        target: "feedgate::access",
        instance = %instance.name,
        method = %request.method,
        path = %request.path,
        status = response.status,
        bytes = response.body.len(),
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        client = %peer,
        principal = %principal.map_or_else(|| "-".to_owned(), |p| p.to_string()),
        "request"
    );
    to_hyper(response)
}

/// Authentication may run the deliberately slow password hash (tens of milliseconds of CPU)
/// when the verified-credential cache misses; on the multi-threaded runtime that work is moved
/// off the async worker so other connections keep being served meanwhile. Requests that
/// cannot hash — open instances, API keys, no or malformed credentials, and credentials the
/// cache holds (a poller's every request but the first each minute) — stay on the worker:
/// moving a request off it costs thread hand-offs that halve the throughput of cached polls.
async fn admit<S: Store>(
    deployment: &Deployment<S>,
    instance: &Instance,
    request: &Request,
    now: Instant,
) -> Result<feedgate::auth::Principal, ApiError> {
    let handle = tokio::runtime::Handle::current();
    if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
        && may_hash(deployment, instance, request, now)
    {
        tokio::task::block_in_place(|| handle.block_on(deployment.admit(instance, request, now)))
    } else {
        deployment.admit(instance, request, now).await
    }
}

/// Whether [`Deployment::admit`] may run the password hash for `request`: the same steps as
/// the library's check (`feedgate::auth::decide`) up to the cache look-up, with the same
/// helpers. Only where the check runs depends on this answer, never its outcome.
fn may_hash<S>(
    deployment: &Deployment<S>,
    instance: &Instance,
    request: &Request,
    now: Instant,
) -> bool {
    let auth = InstanceAuth {
        mode: deployment.mode,
        name: &instance.name,
        kind: instance.params.kind(),
        credential: instance.credential.as_ref(),
        universal: deployment.universal.as_ref(),
    };
    let effective = auth.effective();
    if effective == Effective::None || headers::present(&request.headers, headers::XDR_AUTH_ID) {
        return false;
    }
    let presented = match effective {
        Effective::None => None,
        Effective::Basic(credential) => headers::single(&request.headers, headers::AUTHORIZATION)
            .and_then(parse_basic)
            .map(|p| (credential, p.username, p.password)),
        Effective::Token { credential, header } => presented_token(header, &request.headers)
            .map(|t| (credential, credential.username().to_owned(), t.to_owned())),
    };
    let Some((credential, username, secret)) = presented else {
        return false;
    };
    deployment.verified.as_ref().is_none_or(|cache| {
        let key = cache.entry_key(
            &instance.name,
            credential.password_hash(),
            &username,
            &secret,
        );
        !cache.contains(&key, now)
    })
}

/// Reads a webhook body: a `Content-Length` over the limit is refused without reading; a
/// body that grows past it while read is refused too.
async fn read_body(
    request: &Request,
    body: Incoming,
    params: &feedgate::webhook::WebhookParams,
) -> Result<Bytes, ApiError> {
    if let Some(length) = request
        .header("content-length")
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        check_body_size(length, params)?;
    }
    let limit = usize::try_from(params.max_body_size).unwrap_or(usize::MAX);
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(check_body_size(params.max_body_size + 1, params)
                .err()
                .unwrap_or(ApiError::InvalidArgument("request body too large".into())))
        }
        Err(_) => Err(ApiError::InvalidArgument(
            "request body could not be read".into(),
        )),
    }
}

fn to_hyper(response: Response) -> hyper::Response<Full<Bytes>> {
    let mut builder = hyper::Response::builder().status(response.status);
    for (name, value) in &response.headers {
        builder = builder.header(*name, value.as_str());
    }
    builder.body(Full::new(response.body)).unwrap_or_else(|_| {
        // Only an invalid header value can get here; answer rather than drop the request.
        let mut fallback = hyper::Response::new(Full::new(Bytes::from_static(
            b"response could not be encoded",
        )));
        *fallback.status_mut() = hyper::StatusCode::SERVICE_UNAVAILABLE;
        fallback
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use feedgate::auth::Credential;
    use feedgate::auth::cache::VerifiedCache;
    use feedgate::auth::decide::Mode;
    use feedgate::http::export_cache::ExportCache;
    use feedgate_store_embedded::EmbeddedStore;

    use super::*;

    fn instance(name: &str, credential: Option<(&str, &str)>) -> Instance {
        Instance {
            name: name.into(),
            params: KindParams::Export(Box::default()),
            credential: credential
                .map(|(user, secret)| Credential::from_password(user, secret).expect("hash")),
        }
    }

    fn request(headers: &[(&str, &str)]) -> Request {
        Request {
            method: "GET".into(),
            path: "/".into(),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Request::default()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_requests_that_may_hash_leave_the_worker() {
        let dir = tempfile::tempdir().expect("temp dir");
        let deployment = Deployment {
            store: EmbeddedStore::open(dir.path()).expect("store"),
            mode: Mode::Engine,
            universal: None,
            master: None,
            verified: VerifiedCache::new(Duration::from_secs(60)).ok(),
            exports: ExportCache::new(),
        };
        let open = instance("open", None);
        let basic = instance("basic", Some(("fw", "pw")));
        let other = instance("other", Some(("fw", "pw")));
        let token = instance("token", Some(("_header:X-Token", "tok")));
        let now = Instant::now();
        let right = request(&[("Authorization", "Basic Znc6cHc=")]);
        let wrong = request(&[("Authorization", "Basic Znc6cHg=")]);
        let d = &deployment;

        // Nothing to hash: open instance, no or malformed credentials, API keys.
        assert!(!may_hash(d, &open, &right, now));
        assert!(!may_hash(d, &basic, &request(&[]), now));
        assert!(!may_hash(
            d,
            &basic,
            &request(&[("Authorization", "Basic !")]),
            now
        ));
        let twice = request(&[
            ("Authorization", "Basic Znc6cHc="),
            ("authorization", "Basic Znc6cHc="),
        ]);
        assert!(!may_hash(d, &basic, &twice, now));
        let key = request(&[("x-xdr-auth-id", "1"), ("Authorization", "Basic Znc6cHc=")]);
        assert!(!may_hash(d, &basic, &key, now));

        // A pair not yet verified hashes; once admitted it is a cache hit, on that instance.
        assert!(may_hash(d, &basic, &right, now));
        admit(d, &basic, &right, now).await.expect("admitted");
        assert!(!may_hash(d, &basic, &right, now));
        assert!(may_hash(d, &other, &right, now));
        // Failures are never cached: a wrong pair always hashes.
        for _ in 0..2 {
            assert!(may_hash(d, &basic, &wrong, now));
            assert!(admit(d, &basic, &wrong, now).await.is_err());
        }
        // After the cache's lifetime the pair hashes again.
        let later = now.add_nanos(61_000_000_000);
        assert!(may_hash(d, &basic, &right, later));

        // Header tokens likewise.
        let tok = request(&[("X-Token", "tok")]);
        assert!(!may_hash(d, &token, &request(&[]), now));
        assert!(may_hash(d, &token, &tok, now));
        admit(d, &token, &tok, now).await.expect("admitted");
        assert!(!may_hash(d, &token, &tok, now));
        assert!(admit(d, &token, &tok, now).await.is_ok());
    }
}
