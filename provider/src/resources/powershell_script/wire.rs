//! `deviceManagementScript` (beta only) bodies and read-back.
//!
//! * `scriptContent` is base64 on the wire and only returned by a GET of one script (lists
//!   leave it out or null), so a read from a list never reports the content as changed.
//! * Content comparison ignores what cannot matter to PowerShell and what editors and git
//!   change behind the user's back: a byte-order mark, and CRLF / CR vs LF line endings
//!   (a Windows checkout with `core.autocrlf` must not show a diff against a Linux one). Any
//!   other difference, including trailing whitespace, is a real change.
//! * Encoding for upload: UTF-8, with a BOM when the text is not pure ASCII. The Intune
//!   management extension runs platform scripts with Windows PowerShell 5.1, which reads a
//!   BOM-less file in the ANSI code page (about_Character_Encoding), so non-ASCII text would be
//!   garbled without it. The BOM is ignored by the comparison, so it never causes a diff.
//! * Stored content is decoded from UTF-8 (BOM optional) or UTF-16 with a BOM (scripts uploaded
//!   through the portal from files saved by Windows PowerShell ISE / older editors).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use thiserror::Error;

/// `@odata.type` of a platform script.
pub const SCRIPT_TYPE: &str = "#microsoft.graph.deviceManagementScript";

const UTF8_BOM: &str = "\u{feff}";

/// `runAsAccount` (`runAsAccountType`: `system`, `user`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RunAsAccount {
    /// Device context; what device preparation needs (scripts run before any user signs in).
    #[default]
    System,
    User,
}

impl RunAsAccount {
    pub const NAMES: [&'static str; 2] = ["system", "user"];

    /// Friendly and Graph name (they are the same).
    pub fn name(self) -> &'static str {
        match self {
            RunAsAccount::System => "system",
            RunAsAccount::User => "user",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "system" => Some(RunAsAccount::System),
            "user" => Some(RunAsAccount::User),
            _ => None,
        }
    }
}

/// The script as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptSpec {
    pub display_name: String,
    /// `None` and `""` are the same (Graph returns one or the other for "no description").
    pub description: Option<String>,
    pub file_name: String,
    /// Plain text.
    pub content: String,
    pub run_as_account: RunAsAccount,
    pub enforce_signature_check: bool,
    pub run_as_32_bit: bool,
}

/// The script as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadScript {
    pub id: String,
    pub display_name: String,
    pub description: Option<String>,
    pub file_name: String,
    /// Decoded content; `None` when the body had none (list responses).
    pub content: Option<String>,
    pub run_as_account: RunAsAccount,
    pub enforce_signature_check: bool,
    pub run_as_32_bit: bool,
    pub role_scope_tag_ids: Vec<String>,
    pub created_date_time: Option<String>,
    pub last_modified_date_time: Option<String>,
}

/// Errors reading a script body.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScriptWireError {
    #[error("the script response is malformed: {0}")]
    Malformed(String),
    #[error("runAsAccount `{0}` is not system or user")]
    UnknownRunAsAccount(String),
    #[error("scriptContent is not valid base64")]
    ContentNotBase64,
    #[error("scriptContent is not text (neither UTF-8 nor UTF-16 with a byte-order mark)")]
    ContentNotText,
}

/// Base64 of the content as uploaded (see the module docs for the BOM).
pub fn encode_content(content: &str) -> String {
    if content.is_ascii() || content.starts_with(UTF8_BOM) {
        STANDARD.encode(content.as_bytes())
    } else {
        STANDARD.encode(format!("{UTF8_BOM}{content}").as_bytes())
    }
}

/// Decode `scriptContent` into text (BOM removed).
pub fn decode_content(base64: &str) -> Result<String, ScriptWireError> {
    let bytes = STANDARD.decode(base64.trim()).map_err(|_| ScriptWireError::ContentNotBase64)?;
    let utf16 = |body: &[u8], from: fn([u8; 2]) -> u16| {
        if !body.len().is_multiple_of(2) {
            return Err(ScriptWireError::ContentNotText);
        }
        let units: Vec<u16> = body.chunks_exact(2).map(|c| from([c[0], c[1]])).collect();
        String::from_utf16(&units).map_err(|_| ScriptWireError::ContentNotText)
    };
    match bytes.as_slice() {
        [0xFF, 0xFE, rest @ ..] => utf16(rest, u16::from_le_bytes),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, u16::from_be_bytes),
        [0xEF, 0xBB, 0xBF, rest @ ..] => {
            String::from_utf8(rest.to_vec()).map_err(|_| ScriptWireError::ContentNotText)
        }
        all => String::from_utf8(all.to_vec()).map_err(|_| ScriptWireError::ContentNotText),
    }
}

/// Content with a leading BOM removed and line endings as LF.
pub fn normalise_content(content: &str) -> String {
    content.strip_prefix(UTF8_BOM).unwrap_or(content).replace("\r\n", "\n").replace('\r', "\n")
}

/// Whether configured and stored content are the same script.
pub fn same_content(configured: &str, stored: &str) -> bool {
    normalise_content(configured) == normalise_content(stored)
}

/// What goes into state for `script_content` after a read: the prior text when Graph's is the
/// same script or was not returned, otherwise Graph's (drift).
pub fn reconcile_content(prior: &str, read: Option<&str>) -> String {
    match read {
        Some(stored) if !same_content(prior, stored) => stored.to_owned(),
        _ => prior.to_owned(),
    }
}

/// Body of `POST /beta/deviceManagement/deviceManagementScripts`. `roleScopeTagIds` is left to
/// the service default (`["0"]`, the Default scope tag).
pub fn create_body(spec: &ScriptSpec) -> Value {
    let mut body = common_body(spec);
    body.insert("@odata.type".into(), json!(SCRIPT_TYPE));
    if let Some(d) = spec.description.as_deref().filter(|d| !d.is_empty()) {
        body.insert("description".into(), json!(d));
    }
    Value::Object(body)
}

/// Body of `PATCH …/deviceManagementScripts/{id}`: every managed property, so one PATCH
/// corrects any drift; a removed description is cleared with `""`. `scriptContent` is sent only
/// when the content changed, keeping PATCHes small and the stored bytes stable.
pub fn patch_body(spec: &ScriptSpec, content_changed: bool) -> Value {
    let mut body = common_body(spec);
    body.insert("@odata.type".into(), json!(SCRIPT_TYPE));
    body.insert("description".into(), json!(spec.description.as_deref().unwrap_or("")));
    if !content_changed {
        body.remove("scriptContent");
    }
    Value::Object(body)
}

fn common_body(spec: &ScriptSpec) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("displayName".into(), json!(spec.display_name));
    body.insert("fileName".into(), json!(spec.file_name));
    body.insert("scriptContent".into(), json!(encode_content(&spec.content)));
    body.insert("runAsAccount".into(), json!(spec.run_as_account.name()));
    body.insert("enforceSignatureCheck".into(), json!(spec.enforce_signature_check));
    body.insert("runAs32Bit".into(), json!(spec.run_as_32_bit));
    body
}

impl ReadScript {
    /// Parse a script (bare entity, `{"value": {…}}` example wrapper, or a list item).
    pub fn from_graph(body: &Value) -> Result<Self, ScriptWireError> {
        let outer = body.as_object().ok_or_else(|| malformed("expected a JSON object"))?;
        let obj = match outer.get("value") {
            Some(Value::Object(inner)) if !outer.contains_key("id") => inner,
            _ => outer,
        };
        let text = |key: &str| obj.get(key).and_then(Value::as_str).map(str::to_owned);
        let required = |key: &str| text(key).ok_or_else(|| malformed(&format!("no `{key}`")));
        let flag = |key: &str| obj.get(key).and_then(Value::as_bool).unwrap_or(false);
        let run_as = text("runAsAccount").unwrap_or_else(|| "system".to_owned());
        let content = match obj.get("scriptContent") {
            None | Some(Value::Null) => None,
            Some(Value::String(b64)) => Some(decode_content(b64)?),
            Some(_) => return Err(malformed("scriptContent is not a string")),
        };
        Ok(Self {
            id: required("id")?,
            display_name: required("displayName")?,
            description: text("description").filter(|d| !d.is_empty()),
            file_name: text("fileName").unwrap_or_default(),
            content,
            run_as_account: RunAsAccount::parse(&run_as)
                .ok_or(ScriptWireError::UnknownRunAsAccount(run_as))?,
            enforce_signature_check: flag("enforceSignatureCheck"),
            run_as_32_bit: flag("runAs32Bit"),
            role_scope_tag_ids: obj
                .get("roleScopeTagIds")
                .and_then(Value::as_array)
                .map(|ids| ids.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default(),
            created_date_time: text("createdDateTime"),
            last_modified_date_time: text("lastModifiedDateTime"),
        })
    }

    /// Whether the stored script differs from `spec` in anything the resource manages
    /// (content only when it was returned).
    pub fn differs_from(&self, spec: &ScriptSpec) -> bool {
        self.display_name != spec.display_name
            || self.description.as_deref().unwrap_or("") != spec.description.as_deref().unwrap_or("")
            || self.file_name != spec.file_name
            || self.content.as_deref().is_some_and(|c| !same_content(&spec.content, c))
            || self.run_as_account != spec.run_as_account
            || self.enforce_signature_check != spec.enforce_signature_check
            || self.run_as_32_bit != spec.run_as_32_bit
    }
}

fn malformed(what: &str) -> ScriptWireError {
    ScriptWireError::Malformed(what.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    fn spec() -> ScriptSpec {
        ScriptSpec {
            display_name: "Display Name value".into(),
            description: Some("Description value".into()),
            file_name: "File Name value".into(),
            content: "scriptContent".into(),
            run_as_account: RunAsAccount::User,
            enforce_signature_check: true,
            run_as_32_bit: true,
        }
    }

    #[test]
    fn create_body_matches_the_doc_example_apart_from_scope_tags() {
        // graph-samples deviceManagementScripts/create.beta.request.json ("c2NyaXB0Q29udGVudA==" = "scriptContent").
        let mut want = sample(include_str!("testdata/create.beta.request.json"));
        want.as_object_mut().unwrap().remove("roleScopeTagIds");
        assert_eq!(create_body(&spec()), want);
    }

    #[test]
    fn create_omits_empty_description_and_patch_clears_it() {
        let mut s = spec();
        s.description = None;
        assert!(create_body(&s).get("description").is_none());
        s.description = Some(String::new());
        assert!(create_body(&s).get("description").is_none());
        assert_eq!(patch_body(&s, false)["description"], json!(""));
        assert!(patch_body(&s, false).get("scriptContent").is_none());
        assert_eq!(patch_body(&s, true)["scriptContent"], json!("c2NyaXB0Q29udGVudA=="));
    }

    #[test]
    fn doc_samples_parse() {
        for text in [
            include_str!("testdata/create.beta.response.json"),
            include_str!("testdata/get.beta.response.json"),
        ] {
            let read = ReadScript::from_graph(&sample(text)).unwrap();
            assert_eq!(read.id, "59ea4525-4525-59ea-2545-ea592545ea59");
            assert_eq!(read.content.as_deref(), Some("scriptContent"));
            assert_eq!(read.run_as_account, RunAsAccount::User);
            assert!(read.enforce_signature_check && read.run_as_32_bit);
            assert_eq!(read.role_scope_tag_ids, ["Role Scope Tag Ids value"]);
            assert!(!read.differs_from(&spec()));
        }
        // DT fixture with $expand=assignments.
        let read = ReadScript::from_graph(&sample(include_str!(
            "testdata/get_expand_assignments.dt.beta.response.json"
        )))
        .unwrap();
        assert_eq!(read.content.as_deref(), Some("Write-Host 'Maximal script'"));
        assert_eq!(read.file_name, "test-script-006.ps1");
    }

    #[test]
    fn list_items_without_content_never_differ_on_content() {
        let item = json!({"id": "s", "displayName": "Display Name value", "description": "Description value",
                          "fileName": "File Name value", "runAsAccount": "user",
                          "enforceSignatureCheck": true, "runAs32Bit": true});
        let read = ReadScript::from_graph(&item).unwrap();
        assert_eq!(read.content, None);
        assert!(!read.differs_from(&spec()));
        assert_eq!(reconcile_content("mine", read.content.as_deref()), "mine");
        let null_content = json!({"id": "s", "displayName": "d", "scriptContent": null});
        assert_eq!(ReadScript::from_graph(&null_content).unwrap().content, None);
    }

    #[test]
    fn read_errors() {
        assert!(matches!(
            ReadScript::from_graph(&json!({"displayName": "d"})),
            Err(ScriptWireError::Malformed(_))
        ));
        assert_eq!(
            ReadScript::from_graph(&json!({"id": "s", "displayName": "d", "runAsAccount": "admin"})),
            Err(ScriptWireError::UnknownRunAsAccount("admin".into()))
        );
        assert_eq!(
            ReadScript::from_graph(&json!({"id": "s", "displayName": "d", "scriptContent": "@@@"})),
            Err(ScriptWireError::ContentNotBase64)
        );
        let latin1 = STANDARD.encode([0x48, 0xE9, 0x6C]);
        assert_eq!(decode_content(&latin1), Err(ScriptWireError::ContentNotText));
    }

    #[test]
    fn encoding_round_trips_and_adds_a_bom_only_for_non_ascii() {
        for text in ["Write-Host 'hi'\r\n", "", "Write-Host 'Grüße' # ✓\n", "\u{feff}Write-Host 'ä'"] {
            let b64 = encode_content(text);
            let bytes = STANDARD.decode(&b64).unwrap();
            assert_eq!(bytes.starts_with(UTF8_BOM.as_bytes()), !text.is_ascii(), "{text:?}");
            let back = decode_content(&b64).unwrap();
            assert!(same_content(text, &back), "{text:?}");
            assert_eq!(back, text.strip_prefix(UTF8_BOM).unwrap_or(text));
        }
        assert_eq!(encode_content("scriptContent"), "c2NyaXB0Q29udGVudA==");
    }

    #[test]
    fn utf16_content_from_the_portal_decodes() {
        let text = "Write-Host 'Grüße'\r\n";
        let mut le = vec![0xFF, 0xFE];
        le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(decode_content(&STANDARD.encode(&le)).unwrap(), text);
        let mut be = vec![0xFE, 0xFF];
        be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(decode_content(&STANDARD.encode(&be)).unwrap(), text);
        assert_eq!(
            decode_content(&STANDARD.encode([0xFF, 0xFE, 0x41])),
            Err(ScriptWireError::ContentNotText)
        );
    }

    #[test]
    fn content_comparison_table() {
        let cases = [
            ("a\nb\n", "a\r\nb\r\n", true),
            ("a\nb", "a\rb", true),
            ("a\nb", "\u{feff}a\nb", true),
            ("a\nb\n", "a\nb", false),
            ("a \nb", "a\nb", false),
            ("Write-Host 1", "Write-Host 2", false),
        ];
        for (a, b, same) in cases {
            assert_eq!(same_content(a, b), same, "{a:?} vs {b:?}");
            assert_eq!(reconcile_content(a, Some(b)), if same { a } else { b });
        }
    }

    #[test]
    fn run_as_names_match_metadata() {
        // beta-enum-types.json runAsAccountType: system, user.
        for name in RunAsAccount::NAMES {
            assert_eq!(RunAsAccount::parse(name).map(RunAsAccount::name), Some(name));
        }
        assert_eq!(RunAsAccount::default(), RunAsAccount::System);
        assert_eq!(RunAsAccount::parse("System"), None);
    }
}
