//! Password-based protection of PKCS#12 files: the integrity MAC and the encryption of bags.
//!
//! Covered: PBES2 (PBKDF2 with HMAC-SHA1/256/384/512, AES-128/192/256-CBC or 3DES-CBC; the
//! OpenSSL 3 default) and the PKCS#12 schemes `pbeWithSHAAnd3-KeyTripleDES-CBC`,
//! `pbeWithSHAAnd2-KeyTripleDES-CBC`, `pbeWithSHAAnd128BitRC2-CBC` and
//! `pbeWithSHAAnd40BitRC2-CBC` (Windows and `openssl -legacy` exports). Hashing, HMAC and PBKDF2
//! come from ring; the block ciphers from RustCrypto.

use std::fmt;
use std::num::NonZeroU32;

use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockCipher, BlockDecryptMut, InnerIvInit, KeyInit, KeyIvInit};
use ring::{digest, hmac, pbkdf2};

use super::ber::{self, Malformed, Reader};

/// Files asking for more rounds than this are refused rather than keeping Terraform busy for
/// minutes (real exports use 2,000 to 600,000).
const MAX_ITERATIONS: u64 = 10_000_000;

/// The password in the two encodings PKCS#12 uses: UTF-8 for PBES2 and big-endian UTF-16 with a
/// terminating NUL (a BMPString) for the PKCS#12 key derivation. `Debug` shows neither.
#[derive(Clone)]
pub struct Password {
    utf8: Vec<u8>,
    bmp: Vec<u8>,
}

impl Password {
    pub fn new(password: &str) -> Self {
        let mut bmp: Vec<u8> = password.encode_utf16().flat_map(u16::to_be_bytes).collect();
        bmp.extend([0, 0]);
        Self { utf8: password.as_bytes().to_vec(), bmp }
    }

    /// No password at all, which the PKCS#12 key derivation distinguishes from the empty one
    /// (OpenSSL writes files of either kind for an empty password).
    pub fn absent() -> Self {
        Self { utf8: Vec::new(), bmp: Vec::new() }
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Why protected content could not be opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PbeError {
    /// An algorithm this reader does not implement (dotted OID or name).
    Unsupported(String),
    Malformed(&'static str),
    /// The integrity check or the decryption failed: almost always a wrong password.
    BadPassword,
}

impl From<Malformed> for PbeError {
    fn from(m: Malformed) -> Self {
        PbeError::Malformed(m.0)
    }
}

/// A hash by its PKCS#12 `DigestInfo` object identifier.
fn hash_by_oid(oid: &str) -> Result<(&'static digest::Algorithm, hmac::Algorithm), PbeError> {
    Ok(match oid {
        "1.3.14.3.2.26" => (&digest::SHA1_FOR_LEGACY_USE_ONLY, hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY),
        "2.16.840.1.101.3.4.2.1" => (&digest::SHA256, hmac::HMAC_SHA256),
        "2.16.840.1.101.3.4.2.2" => (&digest::SHA384, hmac::HMAC_SHA384),
        "2.16.840.1.101.3.4.2.3" => (&digest::SHA512, hmac::HMAC_SHA512),
        other => return Err(PbeError::Unsupported(format!("MAC digest {other}"))),
    })
}

fn iterations(n: u64) -> Result<u32, PbeError> {
    if n > MAX_ITERATIONS {
        return Err(PbeError::Unsupported(format!(
            "{n} key-derivation iterations (at most {MAX_ITERATIONS})"
        )));
    }
    u32::try_from(n).ok().filter(|n| *n > 0).ok_or(PbeError::Malformed("iteration count out of range"))
}

/// The PKCS#12 key derivation (RFC 7292, appendix B.2). `id` 1 derives keys, 2 IVs, 3 MAC keys.
fn pkcs12_kdf(
    alg: &'static digest::Algorithm,
    password_bmp: &[u8],
    salt: &[u8],
    id: u8,
    rounds: u32,
    len: usize,
) -> Vec<u8> {
    let v = alg.block_len();
    let fill = |s: &[u8]| -> Vec<u8> {
        if s.is_empty() {
            return Vec::new();
        }
        s.iter().copied().cycle().take(s.len().div_ceil(v) * v).collect()
    };
    let mut i = fill(salt);
    i.extend(fill(password_bmp));
    let d = vec![id; v];
    let mut out = Vec::with_capacity(len + alg.output_len());
    while out.len() < len {
        let mut ctx = digest::Context::new(alg);
        ctx.update(&d);
        ctx.update(&i);
        let mut a = ctx.finish();
        for _ in 1..rounds {
            a = digest::digest(alg, a.as_ref());
        }
        out.extend_from_slice(a.as_ref());
        if out.len() >= len {
            break;
        }
        // I_j = (I_j + B + 1) mod 2^(8v) for every v-byte block of I, B being A repeated to v bytes.
        let b: Vec<u8> = a.as_ref().iter().copied().cycle().take(v).collect();
        for block in i.chunks_mut(v) {
            let mut carry = 1u16;
            for (x, y) in block.iter_mut().rev().zip(b.iter().rev()) {
                let sum = u16::from(*x) + u16::from(*y) + carry;
                *x = (sum & 0xFF) as u8;
                carry = sum >> 8;
            }
        }
    }
    out.truncate(len);
    out
}

/// Checks the `MacData` (its fields, `mac_data`) of a PFX over `content` (the authenticated
/// safe's octets).
pub fn verify_mac(mac_data: &[u8], content: &[u8], password: &Password) -> Result<(), PbeError> {
    let mut r = Reader::new(mac_data);
    let mut digest_info = r.sequence("MacData.mac")?;
    let mut alg = digest_info.sequence("MacData digest algorithm")?;
    let oid = alg.oid("MacData digest algorithm")?;
    if oid == "1.2.840.113549.1.5.14" {
        return Err(PbeError::Unsupported("PBMAC1 integrity (RFC 9579)".into()));
    }
    let (hash, mac_alg) = hash_by_oid(&oid)?;
    let expected = digest_info.expect(ber::OCTET_STRING, "MacData digest")?.octets()?;
    let salt = r.expect(ber::OCTET_STRING, "MacData salt")?.octets()?;
    let rounds = if r.peek_tag() == Some(ber::INTEGER) { r.small_uint("MacData iterations")? } else { 1 };
    let key = pkcs12_kdf(hash, &password.bmp, &salt, 3, iterations(rounds)?, hash.output_len());
    hmac::verify(&hmac::Key::new(mac_alg, &key), content, &expected).map_err(|_| PbeError::BadPassword)
}

/// Decrypts `data` encrypted under the `AlgorithmIdentifier` `alg` (a SEQUENCE's children).
pub fn decrypt(mut alg: Reader<'_>, data: &[u8], password: &Password) -> Result<Vec<u8>, PbeError> {
    let oid = alg.oid("encryption algorithm")?;
    let params = alg.any()?;
    match oid.as_str() {
        "1.2.840.113549.1.5.13" => pbes2(params.children(), data, password),
        "1.2.840.113549.1.12.1.3"
        | "1.2.840.113549.1.12.1.4"
        | "1.2.840.113549.1.12.1.5"
        | "1.2.840.113549.1.12.1.6" => pkcs12_pbe(&oid, params.children(), data, password),
        "1.2.840.113549.1.12.1.1" | "1.2.840.113549.1.12.1.2" => {
            Err(PbeError::Unsupported("RC4 encryption".into()))
        }
        other => Err(PbeError::Unsupported(format!("encryption algorithm {other}"))),
    }
}

fn pkcs12_pbe(
    oid: &str,
    mut params: Reader<'_>,
    data: &[u8],
    password: &Password,
) -> Result<Vec<u8>, PbeError> {
    let salt = params.expect(ber::OCTET_STRING, "PBE salt")?.octets()?;
    let rounds = iterations(params.small_uint("PBE iterations")?)?;
    let sha1 = &digest::SHA1_FOR_LEGACY_USE_ONLY;
    let derive = |id, len| pkcs12_kdf(sha1, &password.bmp, &salt, id, rounds, len);
    let iv = derive(2, 8);
    match oid {
        "1.2.840.113549.1.12.1.3" => cbc_with_key::<des::TdesEde3>(&derive(1, 24), &iv, data),
        "1.2.840.113549.1.12.1.4" => cbc_with_key::<des::TdesEde2>(&derive(1, 16), &iv, data),
        "1.2.840.113549.1.12.1.5" => rc2_cbc(&derive(1, 16), 128, &iv, data),
        _ => rc2_cbc(&derive(1, 5), 40, &iv, data),
    }
}

fn pbes2(mut params: Reader<'_>, data: &[u8], password: &Password) -> Result<Vec<u8>, PbeError> {
    let mut kdf = params.sequence("PBES2 key derivation")?;
    let kdf_oid = kdf.oid("PBES2 key derivation")?;
    if kdf_oid != "1.2.840.113549.1.5.12" {
        return Err(PbeError::Unsupported(format!("PBES2 key derivation {kdf_oid} (only PBKDF2)")));
    }
    let mut kdf_params = kdf.sequence("PBKDF2 parameters")?;
    let salt = kdf_params.expect(ber::OCTET_STRING, "PBKDF2 salt")?.octets()?;
    let rounds = iterations(kdf_params.small_uint("PBKDF2 iterations")?)?;
    let key_len = match kdf_params.peek_tag() {
        Some(ber::INTEGER) => Some(kdf_params.small_uint("PBKDF2 key length")?),
        _ => None,
    };
    let prf = match kdf_params.optional(ber::SEQUENCE)? {
        None => pbkdf2::PBKDF2_HMAC_SHA1,
        Some(p) => match p.children().oid("PBKDF2 PRF")?.as_str() {
            "1.2.840.113549.2.7" => pbkdf2::PBKDF2_HMAC_SHA1,
            "1.2.840.113549.2.9" => pbkdf2::PBKDF2_HMAC_SHA256,
            "1.2.840.113549.2.10" => pbkdf2::PBKDF2_HMAC_SHA384,
            "1.2.840.113549.2.11" => pbkdf2::PBKDF2_HMAC_SHA512,
            other => return Err(PbeError::Unsupported(format!("PBKDF2 PRF {other}"))),
        },
    };
    let mut scheme = params.sequence("PBES2 encryption scheme")?;
    let scheme_oid = scheme.oid("PBES2 encryption scheme")?;
    let iv = scheme.expect(ber::OCTET_STRING, "PBES2 IV")?.octets()?;
    let cipher_key_len: usize = match scheme_oid.as_str() {
        "2.16.840.1.101.3.4.1.2" => 16,
        "2.16.840.1.101.3.4.1.22" => 24,
        "2.16.840.1.101.3.4.1.42" => 32,
        "1.2.840.113549.3.7" => 24,
        other => return Err(PbeError::Unsupported(format!("PBES2 cipher {other}"))),
    };
    if key_len.is_some_and(|l| l != cipher_key_len as u64) {
        return Err(PbeError::Malformed("PBKDF2 key length does not fit the cipher"));
    }
    let rounds = NonZeroU32::new(rounds).ok_or(PbeError::Malformed("iteration count out of range"))?;
    let mut key = vec![0u8; cipher_key_len];
    pbkdf2::derive(prf, rounds, &salt, &password.utf8, &mut key);
    match scheme_oid.as_str() {
        "2.16.840.1.101.3.4.1.2" => cbc_with_key::<aes::Aes128>(&key, &iv, data),
        "2.16.840.1.101.3.4.1.22" => cbc_with_key::<aes::Aes192>(&key, &iv, data),
        "2.16.840.1.101.3.4.1.42" => cbc_with_key::<aes::Aes256>(&key, &iv, data),
        _ => cbc_with_key::<des::TdesEde3>(&key, &iv, data),
    }
}

fn cbc_with_key<C>(key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>, PbeError>
where
    C: BlockCipher + BlockDecryptMut + KeyInit,
{
    let dec = cbc::Decryptor::<C>::new_from_slices(key, iv)
        .map_err(|_| PbeError::Malformed("the IV does not fit the cipher"))?;
    unpad(dec, data)
}

fn rc2_cbc(key: &[u8], effective_bits: usize, iv: &[u8], data: &[u8]) -> Result<Vec<u8>, PbeError> {
    let cipher = rc2::Rc2::new_with_eff_key_len(key, effective_bits);
    let dec = cbc::Decryptor::inner_iv_slice_init(cipher, iv)
        .map_err(|_| PbeError::Malformed("the IV does not fit the cipher"))?;
    unpad(dec, data)
}

fn unpad<C: BlockCipher + BlockDecryptMut>(dec: cbc::Decryptor<C>, data: &[u8]) -> Result<Vec<u8>, PbeError> {
    let mut buf = data.to_vec();
    // A wrong key shows as bad padding (or, 1 time in 256, as garbage the caller cannot parse).
    let len = dec.decrypt_padded_mut::<Pkcs7>(&mut buf).map_err(|_| PbeError::BadPassword)?.len();
    buf.truncate(len);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// Known-answer vectors for the PKCS#12 KDF (from the test suite of the Bouncy Castle
    /// PKCS12 key generator, password "smeg", salt 0A58CF64530D823F, SHA-1).
    #[test]
    fn pkcs12_kdf_known_answers() {
        let pw = Password::new("smeg");
        let salt = hex("0A58CF64530D823F");
        let sha1 = &digest::SHA1_FOR_LEGACY_USE_ONLY;
        assert_eq!(
            pkcs12_kdf(sha1, &pw.bmp, &salt, 1, 1, 24),
            hex("8AAAE6297B6CB04642AB5B077851284EB7128F1A2A7FBCA3")
        );
        assert_eq!(pkcs12_kdf(sha1, &pw.bmp, &salt, 2, 1, 8), hex("79993DFE048D3B76"));
        let salt = hex("642B99AB44FB4B1F");
        assert_eq!(
            pkcs12_kdf(sha1, &pw.bmp, &salt, 1, 1, 24),
            hex("F3A95FEC48D7711E985CFE67908C5AB79FA3D7C5CAA5D966")
        );
        let pw = Password::new("queeg");
        let salt = hex("05DEC959ACFF72F7");
        assert_eq!(
            pkcs12_kdf(sha1, &pw.bmp, &salt, 1, 1000, 24),
            hex("ED2034E36328830FF09DF1E1A07DD357185DAC0D4F9EB3D4")
        );
        assert_eq!(pkcs12_kdf(sha1, &pw.bmp, &salt, 2, 1000, 8), hex("11DEDAD7758D4860"));
    }

    #[test]
    fn password_encodings_and_debug() {
        let p = Password::new("é1");
        assert_eq!(p.bmp, [0x00, 0xE9, 0x00, 0x31, 0, 0]);
        assert_eq!(p.utf8, "é1".as_bytes());
        assert!(Password::absent().bmp.is_empty());
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
    }

    #[test]
    fn iteration_counts_are_bounded() {
        assert_eq!(iterations(2048), Ok(2048));
        assert!(matches!(iterations(0), Err(PbeError::Malformed(_))));
        assert!(matches!(iterations(MAX_ITERATIONS + 1), Err(PbeError::Unsupported(_))));
    }
}
