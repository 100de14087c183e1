//! The real authentication path end to end: `GraphClient::new` with a client secret, talking
//! HTTPS (our transport, extra root from `ca_certificate_file`) to a TLS front on 127.0.0.1 that
//! forwards to wiremock, which plays both the Entra token endpoint and Graph.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::json;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::config::{Credential, GraphConfig, Secret};
use super::{Api, CallCx, ErrorKind, GraphClient};

const TENANT: &str = "00000000-0000-0000-0000-000000000001";

/// A TLS-terminating TCP forwarder to `backend`, with a fresh CA whose PEM is written to a file.
struct TlsFront {
    uri: String,
    ca_file: PathBuf,
    _dir: tempfile::TempDir,
}

async fn tls_front(backend: &MockServer) -> TlsFront {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .unwrap();
    server_config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let backend_addr = *backend.address();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let Ok(mut upstream) = tokio::net::TcpStream::connect(backend_addr).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            });
        }
    });
    TlsFront { uri: format!("https://127.0.0.1:{port}"), ca_file, _dir: dir }
}

fn config(front: &TlsFront, secret: &str) -> GraphConfig {
    GraphConfig {
        tenant_id: TENANT.into(),
        credential: Credential::ClientSecret { client_id: "app-id".into(), secret: Secret::new(secret) },
        graph_endpoint: url::Url::parse(&front.uri).unwrap(),
        authority_host: url::Url::parse(&front.uri).unwrap(),
        ca_certificate_file: Some(front.ca_file.clone()),
        user_agent: "autopilot-test".into(),
    }
}

fn cx() -> CallCx {
    CallCx::background().with_timeout(Duration::from_secs(30))
}

#[tokio::test]
async fn client_secret_token_is_fetched_once_over_our_tls_transport() {
    let backend = MockServer::start().await;
    let front = tls_front(&backend).await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("client_secret=s3cret-value"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"real-access-token"}),
        ))
        .expect(1)
        .mount(&backend)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/organization"))
        .and(header("authorization", "Bearer real-access-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value":[{"id":TENANT}]})))
        .expect(3)
        .mount(&backend)
        .await;

    let client = GraphClient::new(config(&front, "s3cret-value")).unwrap();
    for _ in 0..3 {
        let orgs: Vec<serde_json::Value> = client.list_all(&cx(), Api::V1, "/organization").await.unwrap();
        assert_eq!(orgs.len(), 1);
    }
    let token_req = backend
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path().ends_with("/token"))
        .unwrap();
    let form = String::from_utf8(token_req.body).unwrap();
    let scope = format!("scope={}", super::odata::percent_encode(&format!("{}/.default", front.uri)));
    assert!(form.contains(&scope), "{form}");
    backend.verify().await;
}

#[tokio::test]
async fn token_errors_carry_the_aadsts_code_but_not_the_secret() {
    let backend = MockServer::start().await;
    let front = tls_front(&backend).await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error":"invalid_client",
            "error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
            "error_codes":[7000215]
        })))
        .mount(&backend)
        .await;
    let client = GraphClient::new(config(&front, "wrong-s3cret")).unwrap();
    let err = client.get(&cx(), Api::V1, "/organization").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Auth, "{err}");
    assert_eq!(err.code.as_deref(), Some("AADSTS7000215"), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("AADSTS7000215: Invalid client secret provided"), "{text}");
    assert!(text.contains("client secret authentication failed"), "{text}");
    assert!(!text.contains("wrong-s3cret") && !format!("{err:?}").contains("wrong-s3cret"), "{text}");
    // Graph itself was never called without a token.
    let graph_calls = backend
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().starts_with("/v1.0"))
        .count();
    assert_eq!(graph_calls, 0);
}

#[tokio::test]
async fn untrusted_server_certificate_is_rejected() {
    let backend = MockServer::start().await;
    let front = tls_front(&backend).await;
    let other = tls_front(&backend).await;
    // Trust `other`'s CA while talking to `front`: the handshake must fail.
    let mut cfg = config(&front, "s3cret-value");
    cfg.ca_certificate_file = Some(other.ca_file.clone());
    let client = GraphClient::new(cfg).unwrap();
    let err = client.get(&cx(), Api::V1, "/organization").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Auth, "{err}");
    assert!(err.to_string().contains("certificate"), "{err}");
    assert!(backend.received_requests().await.unwrap().is_empty());
}
