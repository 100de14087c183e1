//! go-plugin "AutoMTLS": Terraform passes its client certificate in `PLUGIN_CLIENT_CERT`
//! and learns ours from the handshake line; each side trusts exactly the other's
//! certificate. Terraform's certificates are ECDSA P-521, which ring cannot verify, so
//! that one scheme is verified with the pure-Rust `p521` crate.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName as TlsName, SignatureScheme};
use rustls_pki_types::{
    AlgorithmIdentifier, CertificateDer, InvalidSignature, SignatureVerificationAlgorithm, UnixTime, alg_id,
};
use tokio_rustls::TlsAcceptor;

/// Why AutoMTLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("PLUGIN_CLIENT_CERT holds no PEM certificate")]
    NoClientCertificate,
    #[error("generating the server certificate: {0}")]
    Generate(#[from] super::self_signed::CertificateError),
    #[error("building the TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// A ready TLS acceptor plus the DER of our certificate (for the handshake line).
pub struct AutoMtls {
    pub acceptor: TlsAcceptor,
    pub server_cert_der: Vec<u8>,
}

impl std::fmt::Debug for AutoMtls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutoMtls").finish_non_exhaustive()
    }
}

impl AutoMtls {
    /// Generate a fresh server certificate and require exactly `client_cert_pem` from clients.
    pub fn new(client_cert_pem: &str) -> Result<Self, TlsSetupError> {
        let client_cert = first_pem_certificate(client_cert_pem).ok_or(TlsSetupError::NoClientCertificate)?;
        let (server_cert, server_key) = super::self_signed::generate()?;
        let server_cert_der = server_cert.to_vec();

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier =
            PinnedClientCert { expected: client_cert, algorithms: supported_algorithms(&provider) };
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(Arc::new(verifier))
            .with_single_cert(vec![server_cert], server_key)?;
        // grpc-go refuses TLS connections that do not negotiate HTTP/2 through ALPN.
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Self { acceptor: TlsAcceptor::from(Arc::new(config)), server_cert_der })
    }
}

fn first_pem_certificate(pem: &str) -> Option<CertificateDer<'static>> {
    rustls_pemfile::certs(&mut pem.as_bytes()).find_map(Result::ok)
}

/// Accepts exactly one client certificate (compared byte for byte), and checks that the
/// client holds its private key (the handshake signature).
#[derive(Debug)]
struct PinnedClientCert {
    expected: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PinnedClientCert {
    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[TlsName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.expected.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::ApplicationVerificationFailure))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// ring's algorithms plus ECDSA P-521/SHA-512. rustls wants `'static` tables; they are
/// built once per process.
fn supported_algorithms(provider: &CryptoProvider) -> WebPkiSupportedAlgorithms {
    static TABLES: OnceLock<WebPkiSupportedAlgorithms> = OnceLock::new();
    *TABLES.get_or_init(|| {
        let ring = provider.signature_verification_algorithms;
        static P521_ONLY: &[&dyn SignatureVerificationAlgorithm] = &[&EcdsaP521Sha512];
        let all: Vec<&'static dyn SignatureVerificationAlgorithm> =
            ring.all.iter().copied().chain(P521_ONLY.iter().copied()).collect();
        let mapping: Vec<(SignatureScheme, &'static [&'static dyn SignatureVerificationAlgorithm])> =
            std::iter::once((SignatureScheme::ECDSA_NISTP521_SHA512, P521_ONLY))
                .chain(ring.mapping.iter().copied())
                .collect();
        WebPkiSupportedAlgorithms { all: all.leak(), mapping: mapping.leak() }
    })
}

/// ECDSA over P-521 with SHA-512, the scheme of go-plugin's client certificates.
#[derive(Debug)]
struct EcdsaP521Sha512;

impl SignatureVerificationAlgorithm for EcdsaP521Sha512 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        use p521::ecdsa::signature::Verifier;
        let key = p521::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
        let signature = p521::ecdsa::Signature::from_der(signature).map_err(|_| InvalidSignature)?;
        key.verify(message, &signature).map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_P521
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_SHA512
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(parts: &[&str]) -> Vec<u8> {
        let text: String = parts.concat();
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
    }

    /// A key, message and signature made with OpenSSL (`openssl dgst -sha512 -sign`), as
    /// Go's TLS stack signs with the P-521 keys go-plugin generates.
    #[test]
    fn p521_algorithm_verifies_real_signatures_only() {
        let public_key = hex(&[
            "04010f92b1a5dca4a2d58d5771f7c0af80513143186b00423003c2e6b28088e1",
            "ba1ae5fbd2f54d1a81390c6ce908add9956dcb5d0a1437396cdaa65a3ca76b93",
            "e22882009a303d3bc6b43485d103781c4a9b815412334782e57b6e7f8f487cf3",
            "a29c08359205791cbf895fa06a48aa0b4006ceffb019d5d4993e46cea5df316f",
            "067db482c2",
        ]);
        let signature = hex(&[
            "308187024201375728c4955f8bf885d0bb12aa094abf3cb2f5d655478aab9704",
            "855acff19ab2b62e9548b3a38ea8ebcccfe4e13e44dc2ba6283ad7a6b30f55b7",
            "965252026aadbc024126149decde1134fb5c62ad5074e35d4a6766e38ae81d2f",
            "7b6d9f7acbbaba311998a3d0889e2815577c81ba7722ee46846c59d785c095bf",
            "1aa33c3723a40556a27b",
        ]);
        let message = b"handshake transcript";
        assert!(EcdsaP521Sha512.verify_signature(&public_key, message, &signature).is_ok());
        assert!(EcdsaP521Sha512.verify_signature(&public_key, b"another transcript", &signature).is_err());
        let mut tampered = signature.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(EcdsaP521Sha512.verify_signature(&public_key, message, &tampered).is_err());
    }

    #[test]
    fn pinned_verifier_accepts_only_the_expected_certificate() {
        let (expected, _) = super::super::self_signed::generate().unwrap();
        let (other, _) = super::super::self_signed::generate().unwrap();
        let provider = rustls::crypto::ring::default_provider();
        let verifier =
            PinnedClientCert { expected: expected.clone(), algorithms: supported_algorithms(&provider) };
        assert!(verifier.client_auth_mandatory());
        assert!(verifier.verify_client_cert(&expected, &[], UnixTime::now()).is_ok());
        assert!(verifier.verify_client_cert(&other, &[], UnixTime::now()).is_err());
        assert!(verifier.supported_verify_schemes().contains(&SignatureScheme::ECDSA_NISTP521_SHA512));
        assert!(verifier.supported_verify_schemes().contains(&SignatureScheme::ECDSA_NISTP256_SHA256));
    }

    #[test]
    fn client_certificate_must_be_pem() {
        assert!(matches!(AutoMtls::new("not a certificate"), Err(TlsSetupError::NoClientCertificate)));
    }
}
