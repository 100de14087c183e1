//! `mailNickname`: Graph requires one on every group create, even mail-disabled security
//! groups. The rules are the create page's (group-post-groups): at most 64 characters, ASCII
//! only, none of `@ ( ) \ [ ] " ; : . < > ,` or space. (The group resource page omits the
//! period; the create page lists it, so we follow the stricter one.) Control characters are
//! refused too, since the documented set of usable characters starts at 32 in other Graph pages.

use sha2::{Digest, Sha256};

/// Graph's maximum `mailNickname` length.
pub const MAX_LEN: usize = 64;

/// The printable ASCII characters Graph refuses in a `mailNickname`.
pub const FORBIDDEN: &[char] = &['@', '(', ')', '\\', '[', ']', '"', ';', ':', '.', '<', '>', ',', ' '];

/// Why a user-supplied `mail_nickname` is not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NicknameError {
    #[error("mail_nickname must not be empty")]
    Empty,
    #[error("mail_nickname is {len} characters long; Graph accepts at most {MAX_LEN}")]
    TooLong { len: usize },
    #[error("mail_nickname contains {ch:?} at position {position}; only ASCII characters are allowed")]
    NotAscii { ch: char, position: usize },
    #[error("mail_nickname contains a control character (U+{code:04X}) at position {position}")]
    Control { code: u32, position: usize },
    #[error(
        "mail_nickname contains {shown} at position {position}; Graph does not allow @ ( ) \\ [ ] \" ; : . < > , or spaces"
    )]
    Forbidden { ch: char, shown: String, position: usize },
}

/// Checks a user-supplied nickname; positions are 1-based characters, as users count them.
pub fn validate(nickname: &str) -> Result<(), NicknameError> {
    if nickname.is_empty() {
        return Err(NicknameError::Empty);
    }
    for (index, ch) in nickname.chars().enumerate() {
        let position = index + 1;
        if !ch.is_ascii() {
            return Err(NicknameError::NotAscii { ch, position });
        }
        if ch.is_ascii_control() {
            return Err(NicknameError::Control { code: u32::from(ch), position });
        }
        if FORBIDDEN.contains(&ch) {
            let shown = if ch == ' ' { "a space".to_owned() } else { format!("{ch:?}") };
            return Err(NicknameError::Forbidden { ch, shown, position });
        }
    }
    let len = nickname.chars().count();
    if len > MAX_LEN {
        return Err(NicknameError::TooLong { len });
    }
    Ok(())
}

/// The nickname used when the configuration sets none: the display name lower-cased, with
/// each run of characters Graph refuses (and of non-ASCII letters) turned into one `-`,
/// trimmed of `-` at both ends and cut to 64 characters. A name with nothing usable left
/// (e.g. entirely non-Latin) becomes `group-` and 12 hex digits of its SHA-256, so the same
/// name always gives the same nickname and plans stay stable.
pub fn derive(display_name: &str) -> String {
    let mut out = String::with_capacity(display_name.len().min(MAX_LEN));
    let mut pending_dash = false;
    for ch in display_name.chars() {
        let usable = ch.is_ascii() && !ch.is_ascii_control() && !FORBIDDEN.contains(&ch);
        if usable && ch != '-' {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            out.push(ch.to_ascii_lowercase());
        } else {
            pending_dash = true;
        }
    }
    truncate_trimmed(&mut out);
    if out.is_empty() {
        let digest = Sha256::digest(display_name.as_bytes());
        let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        return format!("group-{hex}");
    }
    out
}

/// Cuts to [`MAX_LEN`] (all ASCII by now, so bytes are characters) without leaving a
/// trailing dash.
fn truncate_trimmed(s: &mut String) {
    s.truncate(MAX_LEN);
    while s.ends_with('-') {
        s.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_readable_nicknames() {
        let cases = [
            ("Autopilot DPP devices", "autopilot-dpp-devices"),
            ("Autopilot DPP users", "autopilot-dpp-users"),
            ("  Ops (EU) / Berlin.Site  ", "ops-eu-/-berlin-site"),
            ("a@b:c;d<e>f,g\"h[i]j\\k", "a-b-c-d-e-f-g-h-i-j-k"),
            ("already-dashed -- name", "already-dashed-name"),
            ("Geräte München", "ger-te-m-nchen"),
            ("x\ty\nz", "x-y-z"),
            ("O'Brien's #1 group", "o'brien's-#1-group"),
        ];
        for (name, expected) in cases {
            let nick = derive(name);
            assert_eq!(nick, expected, "{name:?}");
            validate(&nick).unwrap();
        }
    }

    #[test]
    fn derived_nicknames_are_at_most_64_and_never_end_in_a_dash() {
        let long = "word ".repeat(40);
        let nick = derive(&long);
        assert!(nick.len() <= MAX_LEN);
        assert!(!nick.ends_with('-'));
        assert!(nick.starts_with("word-word"));
        validate(&nick).unwrap();

        // The 64th character is a separator position: cut there, then trim.
        let name = format!("{} b", "a".repeat(63));
        assert_eq!(derive(&name), "a".repeat(63));
    }

    #[test]
    fn names_with_nothing_usable_get_a_stable_hashed_nickname() {
        let a = derive("開発チーム");
        assert_eq!(a, derive("開発チーム"));
        assert_ne!(a, derive("営業チーム"));
        assert!(a.starts_with("group-") && a.len() == "group-".len() + 12, "{a}");
        validate(&a).unwrap();
        assert!(derive("").starts_with("group-"));
        assert!(derive("... ---").starts_with("group-"));
    }

    #[test]
    fn validator_names_the_offending_character_and_position() {
        let cases = [
            ("", NicknameError::Empty),
            ("ops team", NicknameError::Forbidden { ch: ' ', shown: "a space".to_owned(), position: 4 }),
            ("ops.team", NicknameError::Forbidden { ch: '.', shown: "'.'".to_owned(), position: 4 }),
            ("a@b", NicknameError::Forbidden { ch: '@', shown: "'@'".to_owned(), position: 2 }),
            ("grüppe", NicknameError::NotAscii { ch: 'ü', position: 3 }),
            ("tab\there", NicknameError::Control { code: 9, position: 4 }),
        ];
        for (nick, expected) in cases {
            assert_eq!(validate(nick), Err(expected), "{nick:?}");
        }
        assert_eq!(validate(&"n".repeat(65)), Err(NicknameError::TooLong { len: 65 }));
        validate(&"n".repeat(64)).unwrap();
        for forbidden in FORBIDDEN {
            let nick = format!("x{forbidden}y");
            assert!(matches!(validate(&nick), Err(NicknameError::Forbidden { position: 2, .. })), "{nick:?}");
        }
        for ok in ["library-help", "operations2019", "a_b+c=d!e#f$g%h&i'j*k/l?m^n`o{p|q}r~s"] {
            validate(ok).unwrap();
        }
    }

    #[test]
    fn messages_point_at_the_character() {
        let msg = validate("ops team").unwrap_err().to_string();
        assert!(msg.contains("a space at position 4"), "{msg}");
        let msg = validate("x;y").unwrap_err().to_string();
        assert!(msg.contains("';' at position 2"), "{msg}");
    }
}
