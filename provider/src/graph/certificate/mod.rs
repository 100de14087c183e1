//! The application's client certificate: read from PKCS#12 (`.pfx`/`.p12`) or PEM, checked to
//! hold an RSA key that belongs to a certificate, and kept as a signing key plus the
//! certificate's DER.
//!
//! - [`pkcs12`]: the PFX structure; [`pbe`]: its password-based MAC and encryption;
//!   [`ber`]: the BER reader both use.

mod ber;
mod pbe;
mod pkcs12;

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rustls::sign::SigningKey;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::config::{CertificateSource, Secret};

const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";

/// Re-export advice for files this reader cannot open (algorithms or modes no exporter uses by
/// default). OpenSSL 3 writes PBES2/AES-256 with an HMAC-SHA256 MAC, which is supported.
const REEXPORT: &str = "re-export it with `openssl pkcs12 -legacy -in old.pfx -nodes -out bundle.pem` \
     then `openssl pkcs12 -export -in bundle.pem -out new.pfx` (delete bundle.pem afterwards)";

/// Why the client certificate cannot be used. Never contains key material or the password.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("client_certificate is not valid base64 (it must be the base64 of a .pfx/.p12 or PEM file)")]
    NotBase64,
    #[error(
        "the data is neither PKCS#12 (.pfx/.p12) nor PEM{0}; export the certificate with its private key as a .pfx"
    )]
    UnknownFormat(&'static str),
    #[error(
        "the PKCS#12 file is password-protected: set client_certificate_password (or ARM_CLIENT_CERTIFICATE_PASSWORD)"
    )]
    PasswordRequired,
    #[error(
        "the PKCS#12 password (client_certificate_password or ARM_CLIENT_CERTIFICATE_PASSWORD) is wrong: the file's integrity check failed"
    )]
    WrongPassword,
    #[error("the PKCS#12 file is malformed ({0})")]
    Malformed(String),
    #[error("the PKCS#12 file uses {0}, which is not supported; {REEXPORT}")]
    Unsupported(String),
    #[error("the PEM data is malformed")]
    MalformedPem,
    #[error(
        "encrypted PEM private keys are not supported; use a password-protected .pfx instead \
         (`openssl pkcs12 -export -inkey key.pem -in cert.pem -out app.pfx`)"
    )]
    EncryptedPem,
    #[error("the {0} contains no certificate")]
    NoCertificate(&'static str),
    #[error(
        "the {0} contains no private key; export the certificate together with its private key \
         (`openssl pkcs12 -export -inkey key.pem -in cert.pem -out app.pfx`)"
    )]
    NoPrivateKey(&'static str),
    #[error(
        "the private key is {0}, but Microsoft Entra ID accepts only RSA certificates for application authentication"
    )]
    NotRsa(String),
    #[error("the RSA private key cannot be used: it must be an intact key of 2048 to 8192 bits")]
    UnusableRsaKey,
    #[error("the private key does not belong to any certificate in the {0}")]
    KeyMismatch(&'static str),
}

impl CertificateError {
    /// Whether the password (rather than the certificate data) is what to fix.
    pub fn concerns_password(&self) -> bool {
        matches!(self, CertificateError::PasswordRequired | CertificateError::WrongPassword)
    }
}

/// A certificate and the RSA key that signs client assertions for it. `Debug` shows neither.
#[derive(Clone)]
pub struct ClientCertificate {
    certificate: CertificateDer<'static>,
    key: Arc<dyn SigningKey>,
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("certificate_len", &self.certificate.len())
            .finish_non_exhaustive()
    }
}

impl ClientCertificate {
    /// Reads the certificate from its configured source.
    pub fn load(source: &CertificateSource, password: Option<&Secret>) -> Result<Self, CertificateError> {
        let bytes = match source {
            CertificateSource::Path(p) => std::fs::read(p).map_err(|e| CertificateError::Unreadable {
                path: p.display().to_string(),
                reason: e.to_string(),
            })?,
            CertificateSource::Base64(b) => {
                let text = b.expose().trim();
                // Pasted PEM text is accepted as is; anything else must be base64 (what azuread takes).
                if text.starts_with("-----BEGIN ") {
                    text.as_bytes().to_vec()
                } else {
                    decode_base64(text).ok_or(CertificateError::NotBase64)?
                }
            }
        };
        Self::from_bytes(&bytes, password.map(Secret::expose))
    }

    /// Parses PKCS#12 (DER, or a file of its base64) or PEM, told apart by content.
    pub fn from_bytes(bytes: &[u8], password: Option<&str>) -> Result<Self, CertificateError> {
        let trimmed = bytes.trim_ascii();
        if trimmed.first() == Some(&ber::SEQUENCE) {
            // DER is binary: its last bytes may well be 0x20 or 0x0A, so only leading
            // whitespace (never written by a tool, but harmless) is skipped.
            return from_pkcs12(bytes.trim_ascii_start(), password);
        }
        if trimmed.windows(11).any(|w| w == b"-----BEGIN ") {
            return from_pem(trimmed);
        }
        match std::str::from_utf8(trimmed).ok().and_then(decode_base64) {
            Some(der) if der.first() == Some(&ber::SEQUENCE) => from_pkcs12(&der, password),
            _ => Err(CertificateError::UnknownFormat("")),
        }
    }

    /// The certificate (DER), whose SHA-256 thumbprint identifies it to Entra.
    pub fn certificate(&self) -> &CertificateDer<'static> {
        &self.certificate
    }

    /// The RSA signing key.
    pub fn key(&self) -> &Arc<dyn SigningKey> {
        &self.key
    }
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(compact).ok()
}

fn from_pkcs12(der: &[u8], password: Option<&str>) -> Result<ClientCertificate, CertificateError> {
    const WHERE: &str = "PKCS#12 file";
    let contents = pkcs12::read(der, password).map_err(|e| match e {
        pkcs12::Pkcs12Error::WrongPassword { given: true } => CertificateError::WrongPassword,
        pkcs12::Pkcs12Error::WrongPassword { given: false } => CertificateError::PasswordRequired,
        pkcs12::Pkcs12Error::Unsupported(s) => CertificateError::Unsupported(s),
        pkcs12::Pkcs12Error::Malformed(_) if looks_like_der_certificate(der) => {
            CertificateError::UnknownFormat(
                " (it looks like a bare DER certificate, which has no private key)",
            )
        }
        pkcs12::Pkcs12Error::Malformed(s) => CertificateError::Malformed(s),
    })?;
    let mut keys = contents.keys.into_iter();
    let key_item = keys.next().ok_or(CertificateError::NoPrivateKey(WHERE))?;
    if contents.certificates.is_empty() {
        return Err(CertificateError::NoCertificate(WHERE));
    }
    let key = pkcs8_signing_key(&key_item.der)?;
    let paired = contents
        .certificates
        .iter()
        .position(|c| c.local_key_id.is_some() && c.local_key_id == key_item.local_key_id);
    let certs: Vec<_> = contents.certificates.into_iter().map(|c| CertificateDer::from(c.der)).collect();
    pick_certificate(certs, paired, key, WHERE)
}

fn from_pem(bytes: &[u8]) -> Result<ClientCertificate, CertificateError> {
    const WHERE: &str = "PEM data";
    if bytes.windows(20).any(|w| w == b"ENCRYPTED PRIVATE KE") {
        return Err(CertificateError::EncryptedPem);
    }
    let mut certs = Vec::new();
    let mut key = None;
    let mut reader = bytes;
    for item in rustls_pemfile::read_all(&mut reader) {
        match item.map_err(|_| CertificateError::MalformedPem)? {
            rustls_pemfile::Item::X509Certificate(c) => certs.push(c),
            rustls_pemfile::Item::Pkcs8Key(k) if key.is_none() => key = Some(PrivateKeyDer::Pkcs8(k)),
            rustls_pemfile::Item::Pkcs1Key(k) if key.is_none() => key = Some(PrivateKeyDer::Pkcs1(k)),
            rustls_pemfile::Item::Sec1Key(_) if key.is_none() => {
                return Err(CertificateError::NotRsa("an EC key".into()));
            }
            _ => {}
        }
    }
    let key = key.ok_or(CertificateError::NoPrivateKey(WHERE))?;
    if certs.is_empty() {
        return Err(CertificateError::NoCertificate(WHERE));
    }
    let key = match key {
        PrivateKeyDer::Pkcs8(k) => pkcs8_signing_key(k.secret_pkcs8_der())?,
        other => rsa_signing_key(&other)?,
    };
    pick_certificate(certs, None, key, WHERE)
}

/// The signing key of a PKCS#8 `PrivateKeyInfo`, which must be RSA. The optional attributes
/// (Windows adds some) are dropped first: ring accepts only the bare structure.
fn pkcs8_signing_key(der: &[u8]) -> Result<Arc<dyn SigningKey>, CertificateError> {
    let bad = |_| CertificateError::Malformed("the private key is not PKCS#8".into());
    let mut outer = ber::Reader::new(der);
    let mut info = outer.sequence("PrivateKeyInfo").map_err(bad)?;
    let version = info.any().map_err(bad)?;
    let alg = info.expect(ber::SEQUENCE, "private key algorithm").map_err(bad)?;
    let private = info.expect(ber::OCTET_STRING, "private key").map_err(bad)?;
    let mut alg_fields = alg.children();
    let alg_oid = alg_fields.oid("private key algorithm").map_err(bad)?;
    if alg_oid != RSA_ENCRYPTION {
        return Err(CertificateError::NotRsa(describe_key(&alg_oid, &mut alg_fields)));
    }
    let mut bare = Vec::new();
    bare.extend_from_slice(version.raw);
    bare.extend_from_slice(alg.raw);
    bare.extend_from_slice(private.raw);
    let bare = ber::encode(ber::SEQUENCE, &bare);
    rsa_signing_key(&PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(bare)))
}

fn describe_key(oid: &str, params: &mut ber::Reader<'_>) -> String {
    match oid {
        EC_PUBLIC_KEY => match params.oid("curve").as_deref() {
            Ok("1.2.840.10045.3.1.7") => "an EC P-256 key".into(),
            Ok("1.3.132.0.34") => "an EC P-384 key".into(),
            Ok("1.3.132.0.35") => "an EC P-521 key".into(),
            _ => "an EC key".into(),
        },
        "1.3.101.112" => "an Ed25519 key".into(),
        "1.3.101.113" => "an Ed448 key".into(),
        "1.2.840.10040.4.1" => "a DSA key".into(),
        other => format!("of algorithm {other}"),
    }
}

fn rsa_signing_key(key: &PrivateKeyDer<'_>) -> Result<Arc<dyn SigningKey>, CertificateError> {
    let key =
        rustls::crypto::ring::sign::any_supported_type(key).map_err(|_| CertificateError::UnusableRsaKey)?;
    let Some(signer) = key.choose_scheme(&[rustls::SignatureScheme::RSA_PKCS1_SHA256]) else {
        return Err(CertificateError::NotRsa(format!("a {:?} key", key.algorithm())));
    };
    // ring checks only part of a key's consistency when loading it but verifies each signature
    // it makes; one trial signature turns a damaged key into a configuration error here rather
    // than an authentication failure later.
    signer.sign(b"client certificate self-test").map_err(|_| CertificateError::UnusableRsaKey)?;
    Ok(key)
}

/// The certificate whose public key is the key's. Bundles often carry the issuing chain too,
/// in any order, so position alone does not tell.
fn pick_certificate(
    certs: Vec<CertificateDer<'static>>,
    paired: Option<usize>,
    key: Arc<dyn SigningKey>,
    place: &'static str,
) -> Result<ClientCertificate, CertificateError> {
    let index = match key.public_key() {
        Some(spki) => certs
            .iter()
            .position(|c| subject_public_key_info(c).is_some_and(|s| s == spki.as_ref()))
            .ok_or(CertificateError::KeyMismatch(place))?,
        None => paired.unwrap_or(0),
    };
    let certificate = certs.into_iter().nth(index).ok_or(CertificateError::NoCertificate(place))?;
    Ok(ClientCertificate { certificate, key })
}

/// The DER `SubjectPublicKeyInfo` of an X.509 certificate.
fn subject_public_key_info(cert: &[u8]) -> Option<&[u8]> {
    let mut outer = ber::Reader::new(cert);
    let mut c = outer.sequence("Certificate").ok()?;
    let mut tbs = c.sequence("TBSCertificate").ok()?;
    tbs.optional(ber::CONTEXT_0).ok()?; // version
    for _ in 0..5 {
        tbs.any().ok()?; // serial, signature, issuer, validity, subject
    }
    Some(tbs.expect(ber::SEQUENCE, "SubjectPublicKeyInfo").ok()?.raw)
}

fn looks_like_der_certificate(der: &[u8]) -> bool {
    subject_public_key_info(der.trim_ascii_start()).is_some()
}

/// Whether `signature` is a valid RS256 signature of `message` by `cert_der`'s key (tests check
/// assertions with it).
#[cfg(test)]
pub(crate) fn verify_rs256(cert_der: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let Some(spki) = subject_public_key_info(cert_der) else { return false };
    let mut r = ber::Reader::new(spki);
    let Ok(mut fields) = r.sequence("SubjectPublicKeyInfo") else { return false };
    let (Ok(_), Ok(bits)) = (fields.any(), fields.expect(ber::BIT_STRING, "subjectPublicKey")) else {
        return false;
    };
    let Some(rsa_public_key) = bits.content.get(1..) else { return false };
    ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, rsa_public_key)
        .verify(message, signature)
        .is_ok()
}

#[cfg(test)]
mod tests;
