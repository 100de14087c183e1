//! The AutoMTLS server certificate: a fresh P-256 key and a self-signed X.509 certificate for
//! `localhost`, shaped as go-plugin makes its own (the client puts it in its root pool and
//! checks the name `localhost`).
//!
//! Written out by hand (a few fixed DER structures, signed with ring) rather than with a
//! certificate builder: this runs at every provider start, before the handshake line, and
//! the provider's idle memory follows the code it touches at start (docs/performance.md,
//! benchmark 1). The tests parse the result with webpki and a real Terraform accepts it
//! (`provider/tests/plugin_terraform.rs`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Why no certificate could be made (ring's errors carry no detail).
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error("generating the P-256 key failed")]
    Key,
    #[error("signing the certificate failed")]
    Sign,
    #[error("the system clock is before 1970")]
    Clock,
}

// Object identifiers, DER-encoded contents (without tag and length).
/// ecdsa-with-SHA256, 1.2.840.10045.4.3.2
const OID_ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
/// id-ecPublicKey, 1.2.840.10045.2.1
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// prime256v1, 1.2.840.10045.3.1.7
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// commonName, 2.5.4.3
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
/// organizationName, 2.5.4.10
const OID_ORGANIZATION: &[u8] = &[0x55, 0x04, 0x0a];
/// basicConstraints, 2.5.29.19
const OID_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
/// keyUsage, 2.5.29.15
const OID_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
/// extKeyUsage, 2.5.29.37
const OID_EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];
/// subjectAltName, 2.5.29.17
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
/// id-kp-serverAuth, 1.3.6.1.5.5.7.3.1
const OID_SERVER_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
/// id-kp-clientAuth, 1.3.6.1.5.5.7.3.2
const OID_CLIENT_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const BOOLEAN: u8 = 0x01;
const UTF8_STRING: u8 = 0x0c;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
/// `[0] EXPLICIT` (the version) and `[3] EXPLICIT` (the extensions).
const CONTEXT_0: u8 = 0xa0;
const CONTEXT_3: u8 = 0xa3;
/// `dNSName [2] IMPLICIT IA5String` in a GeneralName.
const DNS_NAME: u8 = 0x82;

/// A little slack for clock differences, as go-plugin allows.
const BACKDATE: Duration = Duration::from_secs(30);
/// go-plugin's own certificates are valid for 30 years; the process lives minutes.
const LIFETIME: Duration = Duration::from_secs(30 * 365 * 86_400);

/// A fresh key and a self-signed certificate for `localhost`, valid from 30 s ago.
pub fn generate() -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), CertificateError> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|_| CertificateError::Clock)?;
    generate_at(now)
}

fn generate_at(now: Duration) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), CertificateError> {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
        .map_err(|_| CertificateError::Key)?;
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
        .map_err(|_| CertificateError::Key)?;

    let mut serial = [0u8; 16];
    rng.fill(&mut serial).map_err(|_| CertificateError::Key)?;
    serial[0] &= 0x7f; // positive
    serial[0] |= 0x40; // and minimally encoded: the first byte is never 0

    let algorithm = tlv(SEQUENCE, &tlv(OID, OID_ECDSA_SHA256));
    let name = tlv(
        SEQUENCE,
        &[
            tlv(SET, &tlv(SEQUENCE, &[tlv(OID, OID_COMMON_NAME), tlv(UTF8_STRING, b"localhost")].concat())),
            tlv(
                SET,
                &tlv(
                    SEQUENCE,
                    &[tlv(OID, OID_ORGANIZATION), tlv(UTF8_STRING, b"terraform-provider-autopilot")].concat(),
                ),
            ),
        ]
        .concat(),
    );
    let validity = tlv(SEQUENCE, &[time(now.saturating_sub(BACKDATE)), time(now + LIFETIME)].concat());
    let public_key_info = tlv(
        SEQUENCE,
        &[
            tlv(SEQUENCE, &[tlv(OID, OID_EC_PUBLIC_KEY), tlv(OID, OID_P256)].concat()),
            bit_string(key.public_key().as_ref()),
        ]
        .concat(),
    );
    let extensions = tlv(
        CONTEXT_3,
        &tlv(
            SEQUENCE,
            &[
                // CA: the client trusts this certificate as its own root.
                extension(OID_BASIC_CONSTRAINTS, true, &tlv(SEQUENCE, &tlv(BOOLEAN, &[0xff]))),
                // digitalSignature (bit 0), keyEncipherment (bit 2), keyCertSign (bit 5): bits
                // 0..=5 used, 2 unused bits in the last (only) byte.
                extension(OID_KEY_USAGE, true, &tlv(BIT_STRING, &[0x02, 0b1010_0100])),
                extension(
                    OID_EXT_KEY_USAGE,
                    false,
                    &tlv(SEQUENCE, &[tlv(OID, OID_SERVER_AUTH), tlv(OID, OID_CLIENT_AUTH)].concat()),
                ),
                extension(OID_SUBJECT_ALT_NAME, false, &tlv(SEQUENCE, &tlv(DNS_NAME, b"localhost"))),
            ]
            .concat(),
        ),
    );
    let tbs = tlv(
        SEQUENCE,
        &[
            tlv(CONTEXT_0, &tlv(INTEGER, &[2])), // v3
            tlv(INTEGER, &serial),
            algorithm.clone(),
            name.clone(),
            validity,
            name,
            public_key_info,
            extensions,
        ]
        .concat(),
    );
    let signature = key.sign(&rng, &tbs).map_err(|_| CertificateError::Sign)?;
    let certificate = tlv(SEQUENCE, &[tbs, algorithm, bit_string(signature.as_ref())].concat());
    Ok((
        CertificateDer::from(certificate),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8.as_ref().to_vec())),
    ))
}

/// One DER element: tag, definite length, contents.
fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(contents.len() + 4);
    out.push(tag);
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(contents);
    out
}

/// A BIT STRING of whole bytes (no unused bits).
fn bit_string(bytes: &[u8]) -> Vec<u8> {
    tlv(BIT_STRING, &[&[0u8][..], bytes].concat())
}

/// One `Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }`
/// (DER leaves out a FALSE `critical`).
fn extension(oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    let critical = if critical { tlv(BOOLEAN, &[0xff]) } else { Vec::new() };
    tlv(SEQUENCE, &[tlv(OID, oid), critical, tlv(OCTET_STRING, value)].concat())
}

/// RFC 5280 time: UTCTime (`YYMMDDHHMMSSZ`) through 2049, GeneralizedTime
/// (`YYYYMMDDHHMMSSZ`) from 2050 on.
fn time(since_epoch: Duration) -> Vec<u8> {
    let secs = since_epoch.as_secs();
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let (hour, minute, second) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    let clock = format!("{month:02}{day:02}{hour:02}{minute:02}{second:02}Z");
    if year < 2050 {
        tlv(UTC_TIME, format!("{:02}{clock}", year % 100).as_bytes())
    } else {
        tlv(GENERALIZED_TIME, format!("{year:04}{clock}").as_bytes())
    }
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_match_the_calendar() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_783), (2026, 11, 26));
        assert_eq!(civil_from_days(29_220), (2050, 1, 1));
        assert_eq!(time(Duration::from_secs(1_795_651_200)), tlv(UTC_TIME, b"261126000000Z"));
        assert_eq!(
            time(Duration::from_secs(2_524_608_000 + 3_723)),
            tlv(GENERALIZED_TIME, b"20500101010203Z")
        );
    }

    #[test]
    fn long_contents_get_a_long_form_length() {
        assert_eq!(tlv(OCTET_STRING, &[7; 3])[..2], [OCTET_STRING, 3]);
        assert_eq!(tlv(OCTET_STRING, &[7; 200])[..3], [OCTET_STRING, 0x81, 200]);
        assert_eq!(tlv(OCTET_STRING, &[7; 300])[..4], [OCTET_STRING, 0x82, 0x01, 0x2c]);
    }

    /// Splits one DER element off the front of `der`: (tag, contents, whole element, rest).
    fn element(der: &[u8]) -> (u8, &[u8], &[u8], &[u8]) {
        let (tag, first) = (der[0], der[1]);
        let (len, header) = if first < 0x80 {
            (first as usize, 2)
        } else {
            let n = (first & 0x7f) as usize;
            (der[2..2 + n].iter().fold(0usize, |acc, b| acc << 8 | *b as usize), 2 + n)
        };
        (tag, &der[header..header + len], &der[..header + len], &der[header + len..])
    }

    #[test]
    fn the_certificate_is_a_valid_self_signed_localhost_ca() {
        let (cert, key) = generate().expect("certificate");
        // webpki parses the whole structure (as a trust anchor and as a certificate) and checks
        // the name; its path building refuses a CA certificate as the end entity, which Go (the
        // Terraform side) accepts for a certificate that is in its root pool.
        webpki::anchor_from_trusted_cert(&cert).expect("a trust anchor");
        let parsed = webpki::EndEntityCert::try_from(&cert).expect("a certificate");
        let localhost = rustls_pki_types::ServerName::try_from("localhost").expect("a name");
        parsed.verify_is_valid_for_subject_name(&localhost).expect("valid for localhost");
        let elsewhere = rustls_pki_types::ServerName::try_from("example.com").expect("a name");
        assert!(parsed.verify_is_valid_for_subject_name(&elsewhere).is_err());
        // The signature over the TBS part verifies with the certificate's key.
        let (tag, contents, _, rest) = element(cert.as_ref());
        assert_eq!((tag, rest.len()), (SEQUENCE, 0));
        let (_, _, tbs, rest) = element(contents);
        let (_, _, _, rest) = element(rest);
        let (tag, signature, _, rest) = element(rest);
        assert_eq!((tag, signature[0], rest.len()), (BIT_STRING, 0, 0));
        let PrivateKeyDer::Pkcs8(pkcs8) = &key else { panic!("a PKCS#8 key") };
        let pair = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            pkcs8.secret_pkcs8_der(),
            &SystemRandom::new(),
        )
        .expect("the key");
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_ASN1,
            pair.public_key().as_ref(),
        )
        .verify(tbs, &signature[1..])
        .expect("self-signed with the key");
        // rustls accepts the pair as a server identity (the key matches the certificate).
        let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key.clone_key());
        assert!(config.is_ok(), "{:?}", config.err());
        // Fresh key and serial each time.
        let (again, _) = generate().expect("certificate");
        assert_ne!(cert, again);
    }

    #[test]
    fn validity_starts_30_seconds_ago_and_lasts_30_years() {
        let now = Duration::from_secs(1_795_651_230); // 2026-11-26 00:00:30 UTC
        let (cert, _) = generate_at(now).expect("certificate");
        let der = cert.as_ref();
        let find = |needle: &[u8]| der.windows(needle.len()).any(|w| w == needle);
        assert!(find(&tlv(UTC_TIME, b"261126000000Z")), "not before");
        assert!(find(&tlv(GENERALIZED_TIME, b"20561118000030Z")), "not after: 30 × 365 days later");
    }
}
