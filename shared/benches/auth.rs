//! Credential check latency (issue 4 targets): cached Basic ≤ 5 µs, uncached Basic (slow
//! hash) 20–250 ms, advanced API key without the store write ≤ 20 µs.
//! Run: `cargo bench -p feedgate --bench auth`.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, criterion_group, criterion_main};
use feedgate::auth::apikey::advanced_digest;
use feedgate::auth::{
    Authenticator, Credential, InstanceAuth, MasterSecret, Mode, Principal, VerifiedCache,
};
use feedgate::instant::Instant;
use feedgate::store::{ApiKeyRecord, InstanceKind, KeyStore, KeyType, Role, StoreResult};

/// One advanced key; nonces are accepted without being stored, so the benchmark measures
/// the check, not a store write.
#[derive(Debug)]
struct OneKey(ApiKeyRecord);

impl KeyStore for OneKey {
    async fn create_key(&self, record: ApiKeyRecord) -> StoreResult<ApiKeyRecord> {
        Ok(record)
    }
    async fn key(&self, id: &str) -> StoreResult<Option<ApiKeyRecord>> {
        Ok((self.0.id == id).then(|| self.0.clone()))
    }
    async fn keys(&self) -> StoreResult<Vec<ApiKeyRecord>> {
        Ok(vec![self.0.clone()])
    }
    async fn revoke_key(&self, _id: &str, _at: Instant) -> StoreResult<bool> {
        Ok(false)
    }
    async fn record_nonce(&self, _: &str, _: &str, _: i64, _: i64) -> StoreResult<bool> {
        Ok(true)
    }
}

/// Every future here completes without waiting.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

fn header(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

fn checks(c: &mut Criterion) {
    let credential = Credential::from_password("edl-user", "Edl-Pass-1").expect("hash");
    let master = MasterSecret::new("fg-bench-master-secret-0123456789abcdef").expect("master");
    let store = OneKey(ApiKeyRecord {
        id: "103".into(),
        kind: KeyType::Advanced,
        role: Role::Read,
        created_at: "2026-01-01T00:00:00Z".into(),
        created_by: "bench".into(),
        expires_at: Some("2099-01-01T00:00:00Z".into()),
        revoked: false,
        revoked_at: None,
        comment: String::new(),
    });
    let cache = VerifiedCache::new(Duration::from_secs(60)).expect("cache");
    let now = Instant::now();
    let instance = InstanceAuth {
        mode: Mode::Serverless,
        name: "edl",
        kind: InstanceKind::Export,
        credential: Some(&credential),
        universal: None,
    };
    let cached = Authenticator {
        keys: &store,
        master: Some(&master),
        cache: Some(&cache),
    };
    let uncached = Authenticator {
        keys: &store,
        master: Some(&master),
        cache: None,
    };
    let basic = vec![header(
        "Authorization",
        &format!("Basic {}", STANDARD.encode("edl-user:Edl-Pass-1")),
    )];
    let ts = (now.unix_nanos() / 1_000_000).to_string();
    let nonce = "Q7fK2mZp9LxR4tVb8NcW1yHs6DgJ3eUa0oPiTqXzYkMnBvCrEwFl5GhIjS2dA4u9";
    let digest = hex::encode(advanced_digest(&master.key("103"), nonce, &ts));
    let advanced = vec![
        header("Host", "example.execute-api.eu-west-1.amazonaws.com"),
        header("User-Agent", "firewall/1.0"),
        header("x-xdr-auth-id", "103"),
        header("x-xdr-nonce", nonce),
        header("x-xdr-timestamp", &ts),
        header("Authorization", &digest),
    ];

    let warm = block_on(cached.authenticate(&instance, "GET", &basic, now));
    assert_eq!(warm.ok(), Some(Principal::Basic("edl-user".into())));
    let admitted = block_on(uncached.authenticate(&instance, "GET", &advanced, now));
    assert!(
        matches!(admitted, Ok(Principal::ApiKey { .. })),
        "{admitted:?}"
    );

    c.bench_function("basic_cached", |b| {
        b.iter(|| block_on(cached.authenticate(&instance, "GET", black_box(&basic), now)))
    });
    c.bench_function("apikey_advanced_no_store_write", |b| {
        b.iter(|| block_on(uncached.authenticate(&instance, "GET", black_box(&advanced), now)))
    });
    let mut slow = c.benchmark_group("slow_hash");
    slow.sample_size(20);
    slow.measurement_time(Duration::from_secs(10));
    slow.bench_function("basic_uncached_argon2id", |b| {
        b.iter(|| block_on(uncached.authenticate(&instance, "GET", black_box(&basic), now)))
    });
    slow.finish();
}

criterion_group!(benches, checks);
criterion_main!(benches);
