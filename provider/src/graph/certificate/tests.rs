//! PKCS#12 and PEM reading against committed test vectors (see `testdata/generate.sh`) and, when
//! the `openssl` CLI is installed, against files it generates on the spot.

use super::*;
use crate::graph::config::CertificateSource;

const PASSWORD: &str = "correct-horse";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/src/graph/certificate/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The DER of `testdata/cert.pem`, the certificate every RSA fixture carries.
fn leaf_der() -> Vec<u8> {
    let pem = fixture("cert.pem");
    let mut reader = pem.as_slice();
    rustls_pemfile::certs(&mut reader).next().unwrap().unwrap().to_vec()
}

fn signs_for(c: &ClientCertificate, cert_der: &[u8]) {
    assert_eq!(c.certificate().as_ref(), cert_der);
    let signer = c.key().choose_scheme(&[rustls::SignatureScheme::RSA_PKCS1_SHA256]).unwrap();
    let sig = signer.sign(b"payload").unwrap();
    assert!(verify_rs256(cert_der, b"payload", &sig), "signature does not verify under the certificate");
}

#[test]
fn pkcs12_files_of_every_supported_protection_open_with_the_right_password() {
    let cases = [
        ("aes256.p12", Some(PASSWORD)), // OpenSSL 3 default: PBES2 AES-256, SHA-256 MAC
        ("legacy_rc2.p12", Some(PASSWORD)), // `-legacy`: RC2-40 certificates, 3DES key, SHA-1 MAC
        ("tdes.p12", Some(PASSWORD)),   // 3DES for both, SHA-1 MAC (Windows export)
        ("chain_aes128.p12", Some(PASSWORD)), // AES-128, SHA-512 MAC, CA certificate first
        ("unencrypted.p12", Some(PASSWORD)), // plain key bag, MAC only
        ("nomac.p12", Some(PASSWORD)),  // no MAC
        ("empty_password.p12", None),   // exported with an empty password
        ("empty_password.p12", Some("")),
        ("trailing_space.p12", Some(PASSWORD)), // DER ending in 0x20 (the MAC salt's last byte)
    ];
    let leaf = leaf_der();
    for (name, password) in cases {
        let c =
            ClientCertificate::from_bytes(&fixture(name), password).unwrap_or_else(|e| panic!("{name}: {e}"));
        signs_for(&c, &leaf);
    }
}

#[test]
fn java_keytool_keystores_open() {
    let c = ClientCertificate::from_bytes(&fixture("java_keytool.p12"), Some(PASSWORD)).unwrap();
    // keytool made its own key and certificate; the signature must verify under that certificate.
    let der = c.certificate().to_vec();
    signs_for(&c, &der);
}

#[test]
fn wrong_or_missing_password_is_reported_as_such() {
    for name in ["aes256.p12", "legacy_rc2.p12", "tdes.p12", "chain_aes128.p12", "nomac.p12"] {
        let bytes = fixture(name);
        let err = ClientCertificate::from_bytes(&bytes, Some("wrong password")).unwrap_err();
        assert_eq!(err, CertificateError::WrongPassword, "{name}");
        assert!(err.concerns_password());
        let err = ClientCertificate::from_bytes(&bytes, None).unwrap_err();
        assert_eq!(err, CertificateError::PasswordRequired, "{name}");
    }
    let err = ClientCertificate::from_bytes(&fixture("empty_password.p12"), Some("x")).unwrap_err();
    assert_eq!(err, CertificateError::WrongPassword);
}

#[test]
fn unusable_contents_are_explained() {
    let cases: [(&str, CertificateError); 3] = [
        ("cert_only.p12", CertificateError::NoPrivateKey("PKCS#12 file")),
        ("ec_p256.p12", CertificateError::NotRsa("an EC P-256 key".into())),
        ("ec_p384.p12", CertificateError::NotRsa("an EC P-384 key".into())),
    ];
    for (name, expected) in cases {
        let err = ClientCertificate::from_bytes(&fixture(name), Some(PASSWORD)).unwrap_err();
        assert_eq!(err, expected, "{name}");
        assert!(!err.concerns_password());
    }
    let err = ClientCertificate::from_bytes(&leaf_der(), None).unwrap_err();
    assert!(
        matches!(err, CertificateError::UnknownFormat(why) if why.contains("bare DER certificate")),
        "{err}"
    );

    // Truncation anywhere inside the file is an error, never a panic.
    let bytes = fixture("aes256.p12");
    for cut in (0..bytes.len()).step_by(97) {
        assert!(ClientCertificate::from_bytes(&bytes[..cut], Some(PASSWORD)).is_err(), "cut at {cut}");
    }
}

#[test]
fn format_is_detected_by_content_for_files_and_inline_values() {
    let dir = tempfile::tempdir().unwrap();
    let leaf = leaf_der();
    let pfx = fixture("aes256.p12");
    let password = Secret::new(PASSWORD);

    // A .pfx, a file holding its base64 (with line breaks), and the inline base64 value.
    let raw = dir.path().join("app.pfx");
    std::fs::write(&raw, &pfx).unwrap();
    let wrapped: String = STANDARD
        .encode(&pfx)
        .as_bytes()
        .chunks(64)
        .map(|l| format!("{}\n", std::str::from_utf8(l).unwrap()))
        .collect();
    let text = dir.path().join("app.pfx.b64");
    std::fs::write(&text, &wrapped).unwrap();
    let sources = [
        CertificateSource::Path(raw),
        CertificateSource::Path(text),
        CertificateSource::Base64(Secret::new(STANDARD.encode(&pfx))),
        CertificateSource::Base64(Secret::new(wrapped)),
    ];
    for source in &sources {
        let c =
            ClientCertificate::load(source, Some(&password)).unwrap_or_else(|e| panic!("{source:?}: {e}"));
        signs_for(&c, &leaf);
    }

    // PEM: chain certificate first, then the leaf and its key; as a file, as base64, as text.
    let key_pem = include_str!("../testdata/rsa_test_key.pem");
    let pem = format!(
        "{}{}{key_pem}",
        String::from_utf8(fixture("ca.pem")).unwrap(),
        String::from_utf8(fixture("cert.pem")).unwrap()
    );
    let pem_file = dir.path().join("app.pem");
    std::fs::write(&pem_file, &pem).unwrap();
    for source in [
        CertificateSource::Path(pem_file),
        CertificateSource::Base64(Secret::new(STANDARD.encode(&pem))),
        CertificateSource::Base64(Secret::new(pem.clone())),
    ] {
        let c = ClientCertificate::load(&source, None).unwrap_or_else(|e| panic!("{source:?}: {e}"));
        signs_for(&c, &leaf);
    }
}

#[test]
fn source_errors_are_clear_and_never_echo_the_input() {
    let missing = CertificateSource::Path("/nonexistent/app.pfx".into());
    let err = ClientCertificate::load(&missing, None).unwrap_err();
    assert!(matches!(&err, CertificateError::Unreadable { path, .. } if path == "/nonexistent/app.pfx"));

    let cases: [(&str, CertificateError); 4] = [
        ("%%%not base64", CertificateError::NotBase64),
        ("aGVsbG8=", CertificateError::UnknownFormat("")),
        (
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nabc\n-----END ENCRYPTED PRIVATE KEY-----\n",
            CertificateError::EncryptedPem,
        ),
        (
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n",
            CertificateError::NoCertificate("PEM data"),
        ),
    ];
    for (value, expected) in cases {
        let err = ClientCertificate::load(&CertificateSource::Base64(Secret::new(value)), None).unwrap_err();
        assert_eq!(err, expected, "{value}");
        assert!(!err.to_string().contains(value.trim()), "{err}");
    }
    // The password never shows in an error, whatever the failure.
    let err = ClientCertificate::from_bytes(&fixture("aes256.p12"), Some("hunter2-secret")).unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
}

#[test]
fn pem_with_a_key_of_another_certificate_is_refused() {
    let key_pem = include_str!("../testdata/rsa_test_key.pem");
    let pem = format!("{}{key_pem}", String::from_utf8(fixture("ca.pem")).unwrap());
    let err = ClientCertificate::from_bytes(pem.as_bytes(), None).unwrap_err();
    assert_eq!(err, CertificateError::KeyMismatch("PEM data"));
}

#[test]
fn debug_shows_no_key_material() {
    let c = ClientCertificate::from_bytes(&fixture("aes256.p12"), Some(PASSWORD)).unwrap();
    let shown = format!("{c:?}");
    assert!(shown.starts_with("ClientCertificate {"), "{shown}");
    assert!(!shown.contains("key:"), "{shown}");
}

/// Files made now by the local `openssl` (a fresh key each run, every scheme the CLI offers),
/// so the reader is checked beyond the committed vectors. Skipped where openssl is missing.
#[test]
fn openssl_generated_files_open_when_openssl_is_installed() {
    use std::process::Command;
    let Ok(version) = Command::new("openssl").arg("version").output() else {
        eprintln!("openssl not installed: skipping");
        return;
    };
    if !String::from_utf8_lossy(&version.stdout).starts_with("OpenSSL 3") {
        eprintln!("not OpenSSL 3: skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir.path()).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "key.pem"]);
    run(&["req", "-x509", "-new", "-key", "key.pem", "-subj", "/CN=fresh", "-days", "2", "-out", "cert.pem"]);
    let pem = std::fs::read(dir.path().join("cert.pem")).unwrap();
    let mut reader = pem.as_slice();
    let leaf = rustls_pemfile::certs(&mut reader).next().unwrap().unwrap().to_vec();
    let variants: [&[&str]; 5] = [
        &[],
        &["-legacy"],
        &["-keypbe", "AES-192-CBC", "-certpbe", "AES-192-CBC", "-macalg", "sha384"],
        &["-keypbe", "PBE-SHA1-2DES", "-certpbe", "PBE-SHA1-RC2-128", "-legacy"],
        &["-keypbe", "DES-EDE3-CBC", "-certpbe", "NONE", "-iter", "1", "-maciter"],
    ];
    for (i, extra) in variants.iter().enumerate() {
        let out = format!("v{i}.p12");
        let mut args = vec![
            "pkcs12",
            "-export",
            "-inkey",
            "key.pem",
            "-in",
            "cert.pem",
            "-passout",
            "pass:pä$$wörd",
            "-out",
            &out,
        ];
        args.extend_from_slice(extra);
        run(&args);
        let bytes = std::fs::read(dir.path().join(&out)).unwrap();
        let c = ClientCertificate::from_bytes(&bytes, Some("pä$$wörd"))
            .unwrap_or_else(|e| panic!("{extra:?}: {e}"));
        signs_for(&c, &leaf);
        assert_eq!(
            ClientCertificate::from_bytes(&bytes, Some("pässwörd")).unwrap_err(),
            CertificateError::WrongPassword,
            "{extra:?}"
        );
    }
}

/// Corrupting any byte of a file yields an error (usually the integrity check), never a panic.
/// What a MAC protects cannot change unnoticed; bytes outside it (an unread NULL parameter of
/// the MAC algorithm, or anything in a file without a MAC) may, but the result must still be a
/// certificate carrying the key's public key.
#[test]
fn corrupted_files_are_refused_without_panicking() {
    let leaf = leaf_der();
    for name in ["aes256.p12", "legacy_rc2.p12", "nomac.p12", "unencrypted.p12"] {
        let original = fixture(name);
        // About 50 positions per file, spread over every structure (each try costs a MAC).
        for pos in (0..original.len()).step_by(original.len() / 50) {
            let mut bytes = original.clone();
            bytes[pos] ^= 0x5A;
            if let Ok(c) = ClientCertificate::from_bytes(&bytes, Some(PASSWORD)) {
                if name == "nomac.p12" {
                    let der = c.certificate().to_vec();
                    signs_for(&c, &der);
                } else {
                    signs_for(&c, &leaf);
                }
            }
        }
    }
}
