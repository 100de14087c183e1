//! Reading a PKCS#12 (`.pfx`/`.p12`) file (RFC 7292) in password-integrity mode: the MAC is
//! verified first, then every certificate and private-key bag is collected.

use super::ber::{self, Malformed, Reader, Tlv};
use super::pbe::{self, Password, PbeError};

const DATA: &str = "1.2.840.113549.1.7.1";
const ENCRYPTED_DATA: &str = "1.2.840.113549.1.7.6";
const ENVELOPED_DATA: &str = "1.2.840.113549.1.7.3";
const SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const KEY_BAG: &str = "1.2.840.113549.1.12.10.1.1";
const SHROUDED_KEY_BAG: &str = "1.2.840.113549.1.12.10.1.2";
const CERT_BAG: &str = "1.2.840.113549.1.12.10.1.3";
const SAFE_CONTENTS_BAG: &str = "1.2.840.113549.1.12.10.1.6";
const X509_CERTIFICATE: &str = "1.2.840.113549.1.9.22.1";
const LOCAL_KEY_ID: &str = "1.2.840.113549.1.9.21";
/// Bags nested in bags deeper than this are refused.
const MAX_NESTING: usize = 4;

/// What a PKCS#12 file holds (DER of each certificate; PKCS#8 `PrivateKeyInfo` of each key),
/// with the `localKeyId` that pairs a key with its certificate.
#[derive(Default)]
pub struct Contents {
    pub certificates: Vec<Item>,
    pub keys: Vec<Item>,
}

/// One certificate or key. Key bytes are secret: `Debug` is deliberately not derived.
pub struct Item {
    pub der: Vec<u8>,
    pub local_key_id: Option<Vec<u8>>,
}

/// Why a PKCS#12 file could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pkcs12Error {
    Malformed(String),
    Unsupported(String),
    /// The MAC did not verify (or, without a MAC, decryption failed); `given` says whether a
    /// non-empty password was tried.
    WrongPassword {
        given: bool,
    },
}

fn malformed(what: &str) -> impl Fn(Malformed) -> Pkcs12Error + '_ {
    move |m| Pkcs12Error::Malformed(format!("{what}: {}", m.0))
}

fn from_pbe(e: PbeError, given: bool) -> Pkcs12Error {
    match e {
        PbeError::Unsupported(s) => Pkcs12Error::Unsupported(s),
        PbeError::Malformed(s) => Pkcs12Error::Malformed(s.to_owned()),
        PbeError::BadPassword => Pkcs12Error::WrongPassword { given },
    }
}

/// Opens `der` with `password` (`None` or empty: both the empty and the absent password are
/// tried, as OpenSSL writes either).
pub fn read(der: &[u8], password: Option<&str>) -> Result<Contents, Pkcs12Error> {
    let given = password.is_some_and(|p| !p.is_empty());
    let candidates = match password {
        Some(p) if !p.is_empty() => vec![Password::new(p)],
        _ => vec![Password::new(""), Password::absent()],
    };
    let mut pfx = Reader::new(der);
    let mut pfx = pfx.sequence("PFX").map_err(malformed("PFX"))?;
    let version = pfx.small_uint("PFX version").map_err(malformed("PFX"))?;
    if version != 3 {
        return Err(Pkcs12Error::Unsupported(format!("PFX version {version}")));
    }
    let mut auth_safe = pfx.sequence("PFX authSafe").map_err(malformed("PFX"))?;
    let content_type = auth_safe.oid("authSafe content type").map_err(malformed("PFX"))?;
    if content_type == SIGNED_DATA {
        return Err(Pkcs12Error::Unsupported("public-key integrity mode (signed PFX)".into()));
    }
    if content_type != DATA {
        return Err(Pkcs12Error::Malformed(format!("authSafe content type {content_type}")));
    }
    let safe = explicit_octets(&mut auth_safe).map_err(malformed("authSafe"))?;

    let password = match pfx.optional(ber::SEQUENCE).map_err(malformed("PFX MacData"))? {
        Some(mac) => {
            let mut verified = None;
            for p in candidates {
                match pbe::verify_mac(mac.content, &safe, &p) {
                    Ok(()) => {
                        verified = Some(p);
                        break;
                    }
                    Err(PbeError::BadPassword) => {}
                    Err(e) => return Err(from_pbe(e, given)),
                }
            }
            verified.ok_or(Pkcs12Error::WrongPassword { given })?
        }
        // Without a MAC, a wrong password shows up when decrypting.
        None => candidates.into_iter().next().unwrap_or_else(Password::absent),
    };

    let mut contents = Contents::default();
    let mut infos = Reader::new(&safe);
    let mut infos = infos.sequence("AuthenticatedSafe").map_err(malformed("AuthenticatedSafe"))?;
    while !infos.is_empty() {
        let mut info = infos.sequence("ContentInfo").map_err(malformed("AuthenticatedSafe"))?;
        let kind = info.oid("ContentInfo type").map_err(malformed("ContentInfo"))?;
        let safe_contents = match kind.as_str() {
            DATA => explicit_octets(&mut info).map_err(malformed("ContentInfo"))?,
            ENCRYPTED_DATA => decrypt_encrypted_data(&mut info, &password, given)?,
            ENVELOPED_DATA => {
                return Err(Pkcs12Error::Unsupported("public-key privacy mode (enveloped data)".into()));
            }
            other => return Err(Pkcs12Error::Malformed(format!("ContentInfo type {other}"))),
        };
        read_bags(&safe_contents, &password, given, &mut contents, 0)?;
    }
    Ok(contents)
}

/// The OCTET STRING inside a `[0] EXPLICIT` content.
fn explicit_octets(r: &mut Reader<'_>) -> Result<Vec<u8>, Malformed> {
    let wrapper = r.expect(ber::CONTEXT_0, "[0] content")?;
    let inner = wrapper.children().any()?;
    if inner.tag & !0x20 != ber::OCTET_STRING {
        return Err(Malformed("expected an OCTET STRING"));
    }
    Ok(inner.octets()?.into_owned())
}

fn decrypt_encrypted_data(
    info: &mut Reader<'_>,
    password: &Password,
    given: bool,
) -> Result<Vec<u8>, Pkcs12Error> {
    let m = malformed("EncryptedData");
    let wrapper = info.expect(ber::CONTEXT_0, "EncryptedData").map_err(&m)?;
    let mut data = wrapper.children();
    let mut data = data.sequence("EncryptedData").map_err(&m)?;
    data.small_uint("EncryptedData version").map_err(&m)?;
    let mut eci = data.sequence("EncryptedContentInfo").map_err(&m)?;
    eci.oid("EncryptedContentInfo type").map_err(&m)?;
    let alg = eci.sequence("content encryption algorithm").map_err(&m)?;
    let encrypted: Tlv<'_> = eci.any().map_err(&m)?;
    if encrypted.tag & !0x20 != ber::CONTEXT_0_PRIMITIVE {
        return Err(Pkcs12Error::Malformed("EncryptedData has no encrypted content".into()));
    }
    let bytes = encrypted.octets().map_err(&m)?;
    pbe::decrypt(alg, &bytes, password).map_err(|e| from_pbe(e, given))
}

fn read_bags(
    safe_contents: &[u8],
    password: &Password,
    given: bool,
    out: &mut Contents,
    depth: usize,
) -> Result<(), Pkcs12Error> {
    if depth > MAX_NESTING {
        return Err(Pkcs12Error::Malformed("bags nested too deeply".into()));
    }
    let m = malformed("SafeContents");
    let mut bags = Reader::new(safe_contents);
    let mut bags = bags.sequence("SafeContents").map_err(|e| {
        // Decrypted garbage (a wrong password without a MAC) lands here.
        if given { Pkcs12Error::WrongPassword { given } } else { m(e) }
    })?;
    while !bags.is_empty() {
        let mut bag = bags.sequence("SafeBag").map_err(&m)?;
        let bag_id = bag.oid("SafeBag id").map_err(&m)?;
        let value = bag.expect(ber::CONTEXT_0, "SafeBag value").map_err(&m)?;
        let local_key_id = match bag.optional(ber::SET).map_err(&m)? {
            Some(attrs) => local_key_id(attrs).map_err(&m)?,
            None => None,
        };
        let mut value = value.children();
        match bag_id.as_str() {
            CERT_BAG => {
                let mut cert_bag = value.sequence("CertBag").map_err(&m)?;
                let cert_type = cert_bag.oid("CertBag type").map_err(&m)?;
                if cert_type != X509_CERTIFICATE {
                    continue; // SDSI certificates: never used for X.509 authentication.
                }
                let der = explicit_octets(&mut cert_bag).map_err(&m)?;
                out.certificates.push(Item { der, local_key_id });
            }
            KEY_BAG => {
                let der = value.expect(ber::SEQUENCE, "KeyBag").map_err(&m)?.raw.to_vec();
                out.keys.push(Item { der, local_key_id });
            }
            SHROUDED_KEY_BAG => {
                let mut epki = value.sequence("EncryptedPrivateKeyInfo").map_err(&m)?;
                let alg = epki.sequence("key encryption algorithm").map_err(&m)?;
                let data =
                    epki.expect(ber::OCTET_STRING, "encrypted key").map_err(&m)?.octets().map_err(&m)?;
                let der = pbe::decrypt(alg, &data, password).map_err(|e| from_pbe(e, given))?;
                // Without a MAC, a wrong key can still unpad by chance; what comes out is no DER.
                let mut check = Reader::new(&der);
                if check.sequence("PrivateKeyInfo").is_err() || !check.is_empty() {
                    return Err(Pkcs12Error::WrongPassword { given });
                }
                out.keys.push(Item { der, local_key_id });
            }
            SAFE_CONTENTS_BAG => {
                let raw = value.expect(ber::SEQUENCE, "nested SafeContents").map_err(&m)?.raw;
                read_bags(raw, password, given, out, depth + 1)?;
            }
            _ => {} // CRL and secret bags carry nothing we use.
        }
    }
    Ok(())
}

fn local_key_id(attrs: Tlv<'_>) -> Result<Option<Vec<u8>>, Malformed> {
    let mut attrs = attrs.children();
    while !attrs.is_empty() {
        let mut attr = attrs.sequence("bag attribute")?;
        if attr.oid("bag attribute type")? == LOCAL_KEY_ID {
            let values = attr.expect(ber::SET, "localKeyId values")?;
            let id = values.children().expect(ber::OCTET_STRING, "localKeyId")?.octets()?;
            return Ok(Some(id.into_owned()));
        }
    }
    Ok(None)
}
