//! The one table of settings-catalog ids used by the two Windows Autopilot device
//! preparation (DPP) templates, with the evidence for each id.
//!
//! Nobody should have to type `enrollment_autopilot_dpp_*` ids: the resource's friendly
//! schema is translated through this table in both directions, and an id the table does not
//! know is an error ([`CatalogError`]) rather than something silently dropped.
//!
//! Evidence tags used in the comments:
//! - **PORTAL**: Intune admin center requests captured by deploymenttheory/terraform-provider-microsoft365
//!   (`resource_docs/reqs.md`, commit 7e461231; mirrored in `graph-samples/configurationPolicies/dpp_create_*`).
//! - **DSC**: microsoft/Microsoft365DSC (a Microsoft project), resources
//!   `MSFT_IntuneWindowsAutopilotDevicePreparationUserDrivenPolicy` / `...AutomaticPolicy`: their
//!   `schema.mof` value maps and the unit-test mocks of `settings?$expand=settingDefinitions`.
//! - **MEM**: MicrosoftDocs/memdocs `autopilot/device-preparation/**` (tutorial pages, whats-new.md).
//! - **DT**: deploymenttheory provider code (`constants.go`, `construct.go`), a third party.
//! - **GET-2024**: `graph-samples/configurationPolicies/dpp_get_settings.dt.beta.response.json`, a June 2024
//!   GET of a real policy (its id and `settingCount` 10 match the real list capture) using ids the
//!   current portal no longer sends; read-only aliases below.
//!
//! Confidence: **high** = two independent sources agree (or a Microsoft source states it);
//! **medium** = one capture; **low** = inference. Every medium/low item is an open question that a
//! live test should settle (see the module docs of `super`).

use serde_json::Value;
use thiserror::Error;

/// User-driven template ("Device Preparation", family `enrollmentConfiguration`, "Version 1").
/// high: PORTAL create capture + create response, real list capture, DSC, DT.
pub const TEMPLATE_USER_DRIVEN: &str = "80d33118-b7b4-40d8-b15f-81be745e053f_1";
/// Automatic (Windows 365) template. medium-high: PORTAL "automatic mode" capture, DSC automatic resource, DT.
pub const TEMPLATE_AUTOMATIC: &str = "a6157a7f-aa00-42d9-ac82-7d2479f545db_1";
/// `templateReference.templateFamily` of both templates. high: PORTAL response, real list capture.
pub const TEMPLATE_FAMILY: &str = "enrollmentConfiguration";
/// `platforms` of both templates. high: PORTAL, DSC.
pub const PLATFORMS: &str = "windows10";
/// `technologies` of both templates. high: PORTAL, DSC.
pub const TECHNOLOGIES: &str = "enrollment";

/// Default of "Custom error message" as the portal pre-fills it. The two 2026 PORTAL captures
/// use a typographic apostrophe (U+2019); GET-2024 and the DT fixture use ASCII `'`. We send the
/// portal's current text. medium.
pub const DEFAULT_CUSTOM_ERROR_MESSAGE: &str = "Contact your organization\u{2019}s support person for help.";

/// Which template (and so which deployment mode) a policy is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Template {
    UserDriven,
    Automatic,
}

impl Template {
    /// The `templateReference.templateId` value.
    pub fn id(self) -> &'static str {
        match self {
            Self::UserDriven => TEMPLATE_USER_DRIVEN,
            Self::Automatic => TEMPLATE_AUTOMATIC,
        }
    }

    /// The template a `templateReference.templateId` names. Accepts the id with or without the
    /// `_1` version suffix (DT's data source compares base ids), so a future `_2` is still an error.
    pub fn from_id(id: &str) -> Result<Self, CatalogError> {
        match id {
            TEMPLATE_USER_DRIVEN | "80d33118-b7b4-40d8-b15f-81be745e053f" => Ok(Self::UserDriven),
            TEMPLATE_AUTOMATIC | "a6157a7f-aa00-42d9-ac82-7d2479f545db" => Ok(Self::Automatic),
            other => Err(CatalogError::UnknownTemplate { template_id: other.to_owned() }),
        }
    }
}

/// The friendly field a setting definition carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SettingKey {
    DeploymentMode,
    DeploymentType,
    JoinType,
    AccountType,
    Timeout,
    CustomErrorMessage,
    AllowSkip,
    AllowDiagnostics,
    DeviceSecurityGroupIds,
    AllowedAppIds,
    AllowedScriptIds,
}

/// The settings-catalog instance type a definition uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettingKind {
    /// `deviceManagementConfigurationChoiceSettingInstance` (`choiceSettingValue.value` = an option id).
    Choice,
    /// `deviceManagementConfigurationSimpleSettingInstance` with an integer value.
    Integer,
    /// `deviceManagementConfigurationSimpleSettingInstance` with a string value.
    String,
    /// `deviceManagementConfigurationSimpleSettingCollectionInstance` of string values.
    StringCollection,
}

/// What a choice option id means for the friendly schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Meaning {
    /// Deployment mode "User-driven".
    UserDriven,
    /// Deployment type "Single user".
    SingleUser,
    /// Join type "Microsoft Entra joined".
    EntraJoined,
    /// User account type "Administrator".
    Administrator,
    /// User account type "Standard user".
    StandardUser,
    No,
    Yes,
    /// An option id known to exist whose meaning this provider does not manage.
    Unsupported(&'static str),
}

impl Meaning {
    /// Normalised labels (see [`normalise_label`]) a tenant may give this option in the
    /// `settingDefinitions` expansion, and the labels of its opposite. Only options whose
    /// meaning is disputed or safety-relevant are cross-checked; the rest return empty lists.
    fn labels(self) -> (&'static [&'static str], &'static [&'static str]) {
        const ADMIN: &[&str] = &["administrator", "admin"];
        const STANDARD: &[&str] = &["standarduser", "standard"];
        const NO: &[&str] = &["no", "false"];
        const YES: &[&str] = &["yes", "true"];
        match self {
            Self::Administrator => (ADMIN, STANDARD),
            Self::StandardUser => (STANDARD, ADMIN),
            Self::No => (NO, YES),
            Self::Yes => (YES, NO),
            // Deployment mode/type labels were swapped in Microsoft's own docs until
            // memdocs PR #4572 (2024-06-26); checking them would only produce false alarms.
            Self::UserDriven | Self::SingleUser | Self::EntraJoined | Self::Unsupported(_) => (&[], &[]),
        }
    }

    /// How the provider names this meaning in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::UserDriven => "deployment mode \"User-driven\"",
            Self::SingleUser => "deployment type \"Single user\"",
            Self::EntraJoined => "join type \"Microsoft Entra joined\"",
            Self::Administrator => "user account type \"Administrator\"",
            Self::StandardUser => "user account type \"Standard user\"",
            Self::No => "\"No\"",
            Self::Yes => "\"Yes\"",
            Self::Unsupported(what) => what,
        }
    }
}

/// One option of a choice setting.
#[derive(Debug, PartialEq, Eq)]
pub struct ChoiceOption {
    pub value_id: &'static str,
    pub meaning: Meaning,
}

/// One setting definition: its ids in both templates and, for choices, its options.
#[derive(Debug, PartialEq, Eq)]
pub struct SettingDef {
    pub key: SettingKey,
    pub definition_id: &'static str,
    pub kind: SettingKind,
    /// `settingInstanceTemplateId` in the user-driven template (`None`: not in that template).
    pub user_driven_instance_template_id: Option<&'static str>,
    /// `settingInstanceTemplateId` in the automatic template (`None`: not in that template).
    pub automatic_instance_template_id: Option<&'static str>,
    /// `settingValueTemplateId` (the collections carry none in every capture).
    pub value_template_id: Option<&'static str>,
    pub options: &'static [ChoiceOption],
    /// `false` for read-only aliases seen in older responses; never written.
    pub written: bool,
}

impl SettingDef {
    /// The instance template id for `template`, or `None` if the template lacks this setting.
    pub fn instance_template_id(&self, template: Template) -> Option<&'static str> {
        match template {
            Template::UserDriven => self.user_driven_instance_template_id,
            Template::Automatic => self.automatic_instance_template_id,
        }
    }

    /// The option with this value id.
    pub fn option(&self, value_id: &str) -> Option<&'static ChoiceOption> {
        self.options.iter().find(|o| o.value_id == value_id)
    }

    /// The value id that carries `meaning` (the first if several do).
    pub fn value_id_for(&self, meaning: Meaning) -> Option<&'static str> {
        self.options.iter().find(|o| o.meaning == meaning).map(|o| o.value_id)
    }
}

// ---------------------------------------------------------------------------------------------
// The table.
// ---------------------------------------------------------------------------------------------

/// Deployment mode. Instance 5180aeab / value 5874c2f6: high (PORTAL user-driven and second
/// capture, DT constants, DSC "DeploymentMode (0: UserDriven)").
/// `_0` = User-driven: high (MEM current tutorial "Deployment mode – User-driven"; DSC).
/// `_1`: exists per DT (labelled "Enhanced"/"Self-deploying" there, no Microsoft source); the
/// portal offers no second value in this template (automatic mode is a separate template). Read
/// as unsupported so a policy using it is reported, not misread. low.
pub const DEPLOYMENT_MODE: SettingDef = SettingDef {
    key: SettingKey::DeploymentMode,
    definition_id: "enrollment_autopilot_dpp_deploymentmode",
    kind: SettingKind::Choice,
    user_driven_instance_template_id: Some("5180aeab-886e-4589-97d4-40855c646315"),
    automatic_instance_template_id: None,
    value_template_id: Some("5874c2f6-bcf1-463b-a9eb-bee64e2f2d82"),
    options: &[
        ChoiceOption { value_id: "enrollment_autopilot_dpp_deploymentmode_0", meaning: Meaning::UserDriven },
        ChoiceOption {
            value_id: "enrollment_autopilot_dpp_deploymentmode_1",
            meaning: Meaning::Unsupported(
                "a deployment mode other than User-driven (undocumented option _1)",
            ),
        },
    ],
    written: true,
};

/// Deployment type. Instance f4184296 / value e0af022f: high (PORTAL, DT, DSC).
/// `_0` = Single user: high (MEM current tutorial; DSC "DeploymentType (0: SingleUser)").
/// DT calls `_0` "User-driven" and `_1` "Self-deploying" because MEM had the two field names
/// swapped until memdocs PR #4572 (2024-06-26). `_1` read as unsupported. low.
pub const DEPLOYMENT_TYPE: SettingDef = SettingDef {
    key: SettingKey::DeploymentType,
    definition_id: "enrollment_autopilot_dpp_deploymenttype",
    kind: SettingKind::Choice,
    user_driven_instance_template_id: Some("f4184296-fa9f-4b67-8b12-1723b3f8456b"),
    automatic_instance_template_id: None,
    value_template_id: Some("e0af022f-37f3-4a40-916d-1ab7281c88d9"),
    options: &[
        ChoiceOption { value_id: "enrollment_autopilot_dpp_deploymenttype_0", meaning: Meaning::SingleUser },
        ChoiceOption {
            value_id: "enrollment_autopilot_dpp_deploymenttype_1",
            meaning: Meaning::Unsupported(
                "a deployment type other than Single user (undocumented option _1)",
            ),
        },
    ],
    written: true,
};

/// Join type. Instance 6310e95d / value 1fa84eb3: high (PORTAL, DT, DSC).
/// `_0` = Microsoft Entra joined: high (MEM; DSC "JoinType (0: EntraIdJoined)").
/// `_1` (hybrid join in DT's old schema) is not supported by DPP (MEM) → unsupported.
pub const JOIN_TYPE: SettingDef = SettingDef {
    key: SettingKey::JoinType,
    definition_id: "enrollment_autopilot_dpp_jointype",
    kind: SettingKind::Choice,
    user_driven_instance_template_id: Some("6310e95d-6cfa-4d2f-aae0-1e7af12e2182"),
    automatic_instance_template_id: None,
    value_template_id: Some("1fa84eb3-fcfa-4ed6-9687-0f3d486402c4"),
    options: &[
        ChoiceOption { value_id: "enrollment_autopilot_dpp_jointype_0", meaning: Meaning::EntraJoined },
        ChoiceOption {
            value_id: "enrollment_autopilot_dpp_jointype_1",
            meaning: Meaning::Unsupported(
                "a join type other than Microsoft Entra joined (hybrid join is not supported by device preparation)",
            ),
        },
    ],
    written: true,
};

/// User account type (the id really is spelled `accountype`). Instance d4f2a840 / value bf13bb47:
/// high (PORTAL, DT, DSC).
///
/// **Disputed option meaning. Choice: `_0` = Administrator, `_1` = Standard user.** medium-high.
/// For: DSC schema.mof "User account type (0: Administrator, 1: StandardUser)" and its mocked
/// `settingDefinitions` options (`_0` name "Administrator", `_1` name "StandardUser"); current DT
/// schema; an independent third-party script (Administrator → `_0`, else `_1`).
/// Against: DT's older schema and `resource_docs` table (`_0` Standard, `_1` Administrator).
/// Handling: when a GET carries the `settingDefinitions` expansion, the tenant's own option label
/// is compared with this table and a contradiction is [`CatalogError::MeaningMismatch`], so a
/// wrong table shows up on the first read instead of silently flipping every user to admin.
/// Live check: `GET /beta/deviceManagement/configurationSettings/enrollment_autopilot_dpp_accountype`.
pub const ACCOUNT_TYPE: SettingDef = SettingDef {
    key: SettingKey::AccountType,
    definition_id: "enrollment_autopilot_dpp_accountype",
    kind: SettingKind::Choice,
    user_driven_instance_template_id: Some("d4f2a840-86d5-4162-9a08-fa8cc608b94e"),
    automatic_instance_template_id: None,
    value_template_id: Some("bf13bb47-69ef-4e06-97c1-50c2859a49c2"),
    options: &[
        ChoiceOption { value_id: "enrollment_autopilot_dpp_accountype_0", meaning: Meaning::Administrator },
        ChoiceOption { value_id: "enrollment_autopilot_dpp_accountype_1", meaning: Meaning::StandardUser },
    ],
    written: true,
};

/// "Minutes allowed before showing installation error". Instance 6dec0657 / value 0bbcce5b: high
/// (PORTAL, DT). Range 15–720: high (MEM). Written as `IntegerSettingValue` with a JSON number
/// (PORTAL, GET-2024); read also from a numeric string, in case a tenant returns one. low.
pub const TIMEOUT: SettingDef = SettingDef {
    key: SettingKey::Timeout,
    definition_id: "enrollment_autopilot_dpp_timeout",
    kind: SettingKind::Integer,
    user_driven_instance_template_id: Some("6dec0657-dfb8-4906-a7ee-3ac6ee1edecb"),
    automatic_instance_template_id: None,
    value_template_id: Some("0bbcce5b-a55a-4e05-821a-94bf576d6cc8"),
    options: &[],
    written: true,
};

/// "Custom error message". Instance 2ddf0619 / value fe5002d5: high (PORTAL, DT).
pub const CUSTOM_ERROR_MESSAGE: SettingDef = SettingDef {
    key: SettingKey::CustomErrorMessage,
    definition_id: "enrollment_autopilot_dpp_customerrormessage",
    kind: SettingKind::String,
    user_driven_instance_template_id: Some("2ddf0619-2b7a-46de-b29b-c6191e9dda6e"),
    automatic_instance_template_id: None,
    value_template_id: Some("fe5002d5-fbe9-4920-9e2d-26bfc4b4cc97"),
    options: &[],
    written: true,
};

/// "Allow users to skip setup after multiple attempts". Instance 2a71dc89 / value a2323e5e: high
/// (PORTAL, DT). `_0` = No, `_1` = Yes: high (DSC option names and "false: No, true: Yes"; PORTAL
/// sends `_1` for a policy created with Yes). GET-2024 returned it as a simple
/// `BooleanSettingValue` instead; the reader accepts that shape too.
pub const ALLOW_SKIP: SettingDef = SettingDef {
    key: SettingKey::AllowSkip,
    definition_id: "enrollment_autopilot_dpp_allowskip",
    kind: SettingKind::Choice,
    user_driven_instance_template_id: Some("2a71dc89-0f17-4ba9-bb27-af2521d34710"),
    automatic_instance_template_id: None,
    value_template_id: Some("a2323e5e-ac56-4517-8847-b0a6fdb467e7"),
    options: &[
        ChoiceOption { value_id: "enrollment_autopilot_dpp_allowskip_0", meaning: Meaning::No },
        ChoiceOption { value_id: "enrollment_autopilot_dpp_allowskip_1", meaning: Meaning::Yes },
    ],
    written: true,
};

/// "Show link to diagnostics". Instance e2b7a81b / value c59d26fd: high (PORTAL, DT).
/// `_0` = No, `_1` = Yes: high (DSC). Boolean shape accepted as for [`ALLOW_SKIP`].
pub const ALLOW_DIAGNOSTICS: SettingDef = SettingDef {
    key: SettingKey::AllowDiagnostics,
    definition_id: "enrollment_autopilot_dpp_allowdiagnostics",
    kind: SettingKind::Choice,
    user_driven_instance_template_id: Some("e2b7a81b-f243-4abd-bce3-c1856345f405"),
    automatic_instance_template_id: None,
    value_template_id: Some("c59d26fd-3460-4b26-b47a-f7e202e7d5a3"),
    options: &[
        ChoiceOption { value_id: "enrollment_autopilot_dpp_allowdiagnostics_0", meaning: Meaning::No },
        ChoiceOption { value_id: "enrollment_autopilot_dpp_allowdiagnostics_1", meaning: Meaning::Yes },
    ],
    written: true,
};

/// Device security group ids. Instance a46a50ab / value 5f7d09e1: high (PORTAL, DT). The portal
/// always sends `""` and binds the group with `setEnrollmentTimeDeviceMembershipTarget` (PORTAL);
/// the value read back is therefore ignored — the device group is read with
/// `retrieveEnrollmentTimeDeviceMembershipTarget`. Not in the automatic template (PORTAL automatic
/// capture, DSC automatic resource has only apps and scripts).
pub const DEVICE_SECURITY_GROUP_IDS: SettingDef = SettingDef {
    key: SettingKey::DeviceSecurityGroupIds,
    definition_id: "enrollment_autopilot_dpp_devicesecuritygroupids",
    kind: SettingKind::String,
    user_driven_instance_template_id: Some("a46a50ab-3076-4968-9366-75a40dde950e"),
    automatic_instance_template_id: None,
    value_template_id: Some("5f7d09e1-1a90-44ad-9c9f-ad90ba509e60"),
    options: &[],
    written: true,
};

/// Allowed apps. Instance user-driven 70d22a8a (PORTAL, DT) / automatic a9dedfd6 (PORTAL
/// automatic capture, DT, DSC mock): high. No value template (PORTAL).
/// Value format: a JSON *string* `{"id":"<mobileAppId>","type":"#microsoft.graph.<appType>"}`
/// (PORTAL, DSC builds it from the app's `@odata.type`): high. The reader parses it as JSON (key
/// order and spacing may differ: DSC serialises a PowerShell hashtable) and also accepts a bare
/// app id, the shape of a script value. Max 25 since 2026-01-30 (MEM whats-new; DSC mock
/// `maximumCount = 25`).
pub const ALLOWED_APP_IDS: SettingDef = SettingDef {
    key: SettingKey::AllowedAppIds,
    definition_id: "enrollment_autopilot_dpp_allowedappids",
    kind: SettingKind::StringCollection,
    user_driven_instance_template_id: Some("70d22a8a-a03c-4f62-b8df-dded3e327639"),
    automatic_instance_template_id: Some("a9dedfd6-c3b2-46d9-ae39-91fd0dcb7a20"),
    value_template_id: None,
    options: &[],
    written: true,
};

/// Allowed scripts. Instance user-driven 1bc67702 (PORTAL, DT) / automatic ff20a4a9 (DT, DSC
/// mock): high / medium. Values are bare `deviceManagementScript` ids (PORTAL); the reader also
/// accepts the app-style JSON object with an `id`. Max 10 (MEM; DSC mock `maximumCount = 10`).
pub const ALLOWED_SCRIPT_IDS: SettingDef = SettingDef {
    key: SettingKey::AllowedScriptIds,
    definition_id: "enrollment_autopilot_dpp_allowedscriptids",
    kind: SettingKind::StringCollection,
    user_driven_instance_template_id: Some("1bc67702-800c-4271-8fd9-609351cc19cf"),
    automatic_instance_template_id: Some("ff20a4a9-a2f4-4a2e-84e0-4cd1dc9bed31"),
    value_template_id: None,
    options: &[],
    written: true,
};

/// Read-only alias (GET-2024): device group id as a simple string. Ignored like
/// [`DEVICE_SECURITY_GROUP_IDS`]. low.
pub const LEGACY_DEVICE_GROUP: SettingDef = SettingDef {
    key: SettingKey::DeviceSecurityGroupIds,
    definition_id: "enrollment_autopilot_dpp_devicegroup",
    kind: SettingKind::String,
    user_driven_instance_template_id: None,
    automatic_instance_template_id: None,
    value_template_id: None,
    options: &[],
    written: false,
};

/// Read-only alias (GET-2024, sic "custonerror") of [`CUSTOM_ERROR_MESSAGE`]. low.
pub const LEGACY_CUSTOM_ERROR: SettingDef = SettingDef {
    key: SettingKey::CustomErrorMessage,
    definition_id: "enrollment_autopilot_dpp_custonerror",
    kind: SettingKind::String,
    user_driven_instance_template_id: None,
    automatic_instance_template_id: None,
    value_template_id: None,
    options: &[],
    written: false,
};

/// Read-only alias (GET-2024) of [`ALLOWED_APP_IDS`], a `collectionSettingInstance` whose children
/// shape is unknown (only an empty list was captured); non-empty children are read if they carry
/// string `value`s, otherwise reported as an unexpected shape. low.
pub const LEGACY_ALLOWED_APPS: SettingDef = SettingDef {
    key: SettingKey::AllowedAppIds,
    definition_id: "enrollment_autopilot_dpp_allowedapps",
    kind: SettingKind::StringCollection,
    user_driven_instance_template_id: None,
    automatic_instance_template_id: None,
    value_template_id: None,
    options: &[],
    written: false,
};

/// Every setting definition id the provider knows, written ones first, in the order the portal
/// sends them (PORTAL user-driven capture).
pub const SETTINGS: &[&SettingDef] = &[
    &DEPLOYMENT_MODE,
    &DEPLOYMENT_TYPE,
    &JOIN_TYPE,
    &ACCOUNT_TYPE,
    &TIMEOUT,
    &CUSTOM_ERROR_MESSAGE,
    &ALLOW_SKIP,
    &ALLOW_DIAGNOSTICS,
    &DEVICE_SECURITY_GROUP_IDS,
    &ALLOWED_APP_IDS,
    &ALLOWED_SCRIPT_IDS,
    &LEGACY_DEVICE_GROUP,
    &LEGACY_CUSTOM_ERROR,
    &LEGACY_ALLOWED_APPS,
];

/// The table entry for a setting definition id.
pub fn by_definition_id(definition_id: &str) -> Result<&'static SettingDef, CatalogError> {
    SETTINGS
        .iter()
        .copied()
        .find(|d| d.definition_id == definition_id)
        .ok_or_else(|| CatalogError::UnknownSetting { definition_id: definition_id.to_owned() })
}

/// Lower-case a label and drop spaces, hyphens and underscores ("Standard User" → "standarduser").
pub fn normalise_label(label: &str) -> String {
    label.chars().filter(|c| !matches!(c, ' ' | '-' | '_')).flat_map(char::to_lowercase).collect()
}

/// Compare the tenant's label of an option (from the `settingDefinitions` expansion) with the
/// table. Only a label that names the *opposite* meaning is an error: unrecognised wording is
/// left alone so a cosmetic rename in Intune does not break reads.
pub fn check_tenant_label(def: &SettingDef, option: &ChoiceOption, label: &str) -> Result<(), CatalogError> {
    let (_, opposite) = option.meaning.labels();
    let normalised = normalise_label(label);
    if opposite.contains(&normalised.as_str()) {
        return Err(CatalogError::MeaningMismatch {
            definition_id: def.definition_id,
            value_id: option.value_id,
            table_meaning: option.meaning.describe(),
            tenant_label: label.to_owned(),
        });
    }
    Ok(())
}

/// Check a setting definition as the tenant serves it (`GET
/// /beta/deviceManagement/configurationSettings/{id}`, or an item of a `settingDefinitions`
/// expansion) against the table: the id and every option id must be known, and no option label
/// may name the opposite of the table's meaning. Meant for a live acceptance test that settles
/// the disputed ids before a release.
pub fn check_definition(definition: &Value) -> Result<(), CatalogError> {
    let id = definition.get("id").and_then(Value::as_str).ok_or_else(|| CatalogError::NotASettingsList {
        detail: "a setting definition has no `id`".to_owned(),
    })?;
    let def = by_definition_id(id)?;
    for option in definition.get("options").and_then(Value::as_array).into_iter().flatten() {
        let item_id = option.get("itemId").and_then(Value::as_str).unwrap_or_default();
        let known = def.option(item_id).ok_or_else(|| CatalogError::UnknownValue {
            definition_id: def.definition_id.to_owned(),
            value: item_id.to_owned(),
        })?;
        for key in ["displayName", "name"] {
            if let Some(label) = option.get(key).and_then(Value::as_str) {
                check_tenant_label(def, known, label)?;
            }
        }
    }
    Ok(())
}

/// What can go wrong translating between the friendly schema and settings-catalog JSON.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CatalogError {
    #[error(
        "the policy contains settings-catalog setting `{definition_id}`, which this provider version does \
         not know; it refuses to manage the policy rather than drop the setting on the next update"
    )]
    UnknownSetting { definition_id: String },
    #[error("setting `{definition_id}` has value `{value}`, which this provider version does not know")]
    UnknownValue { definition_id: String, value: String },
    #[error(
        "setting `{definition_id}` has value `{value}`, meaning {what}, which this provider does not manage"
    )]
    UnsupportedValue { definition_id: String, value: String, what: &'static str },
    #[error("setting `{definition_id}` has an unexpected shape: {detail}")]
    UnexpectedShape { definition_id: String, detail: String },
    #[error("setting `{definition_id}` is missing from a {template} device preparation policy")]
    MissingSetting { definition_id: &'static str, template: &'static str },
    #[error("setting `{definition_id}` appears more than once in the policy")]
    DuplicateSetting { definition_id: String },
    #[error("setting `{definition_id}` does not belong to a {template} device preparation policy")]
    SettingNotInTemplate { definition_id: &'static str, template: &'static str },
    #[error(
        "the tenant labels option `{value_id}` of `{definition_id}` \"{tenant_label}\", but this provider \
         writes it for {table_meaning}; the provider's id table is wrong for this tenant — please report \
         this, and do not apply changes to this policy until it is fixed"
    )]
    MeaningMismatch {
        definition_id: &'static str,
        value_id: &'static str,
        table_meaning: &'static str,
        tenant_label: String,
    },
    #[error(
        "template `{template_id}` is not a Windows Autopilot device preparation template (expected \
         {TEMPLATE_USER_DRIVEN} or {TEMPLATE_AUTOMATIC})"
    )]
    UnknownTemplate { template_id: String },
    #[error(
        "allowed app `{app_id}` has no known app type; look up its `@odata.type` in \
         deviceAppManagement/mobileApps before building the policy"
    )]
    AppTypeMissing { app_id: String },
    #[error("the response is not a list of policy settings: {detail}")]
    NotASettingsList { detail: String },
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn definition_ids_are_unique_and_prefixed() {
        let mut seen = HashSet::new();
        for def in SETTINGS {
            assert!(seen.insert(def.definition_id), "duplicate {}", def.definition_id);
            assert!(def.definition_id.starts_with("enrollment_autopilot_dpp_"), "{}", def.definition_id);
        }
    }

    #[test]
    fn every_choice_option_id_extends_its_definition_id() {
        for def in SETTINGS {
            assert_eq!(def.kind == SettingKind::Choice, !def.options.is_empty(), "{}", def.definition_id);
            for option in def.options {
                assert!(
                    option.value_id.starts_with(&format!("{}_", def.definition_id)),
                    "{}",
                    option.value_id
                );
            }
        }
    }

    #[test]
    fn written_settings_have_a_template_and_one_entry_per_key() {
        let mut keys = HashSet::new();
        for def in SETTINGS.iter().filter(|d| d.written) {
            assert!(keys.insert(def.key), "two written entries for {:?}", def.key);
            assert!(
                def.user_driven_instance_template_id.is_some()
                    || def.automatic_instance_template_id.is_some()
            );
        }
        assert_eq!(keys.len(), 11);
        for def in SETTINGS.iter().filter(|d| !d.written) {
            assert!(def.instance_template_id(Template::UserDriven).is_none());
            assert!(def.instance_template_id(Template::Automatic).is_none());
        }
    }

    #[test]
    fn only_apps_and_scripts_exist_in_the_automatic_template() {
        let automatic: Vec<_> = SETTINGS
            .iter()
            .filter(|d| d.instance_template_id(Template::Automatic).is_some())
            .map(|d| d.key)
            .collect();
        assert_eq!(automatic, [SettingKey::AllowedAppIds, SettingKey::AllowedScriptIds]);
    }

    #[test]
    fn unknown_definition_id_is_a_typed_error_naming_it() {
        let err = by_definition_id("enrollment_autopilot_dpp_somethingnew").unwrap_err();
        assert_eq!(
            err,
            CatalogError::UnknownSetting { definition_id: "enrollment_autopilot_dpp_somethingnew".into() }
        );
        assert!(err.to_string().contains("enrollment_autopilot_dpp_somethingnew"));
    }

    #[test]
    fn template_ids_round_trip_and_reject_others() {
        for t in [Template::UserDriven, Template::Automatic] {
            assert_eq!(Template::from_id(t.id()).unwrap(), t);
        }
        assert_eq!(Template::from_id("80d33118-b7b4-40d8-b15f-81be745e053f").unwrap(), Template::UserDriven);
        assert!(matches!(
            Template::from_id("80d33118-b7b4-40d8-b15f-81be745e053f_2"),
            Err(CatalogError::UnknownTemplate { .. })
        ));
    }

    #[test]
    fn account_type_table_follows_the_microsoft365dsc_value_map() {
        // DSC schema.mof: "User account type (0: Administrator, 1: StandardUser)".
        assert_eq!(
            ACCOUNT_TYPE.value_id_for(Meaning::Administrator),
            Some("enrollment_autopilot_dpp_accountype_0")
        );
        assert_eq!(
            ACCOUNT_TYPE.value_id_for(Meaning::StandardUser),
            Some("enrollment_autopilot_dpp_accountype_1")
        );
    }

    #[test]
    fn tenant_labels_only_fail_when_they_name_the_opposite() {
        let admin = ACCOUNT_TYPE.option("enrollment_autopilot_dpp_accountype_0").unwrap();
        assert!(check_tenant_label(&ACCOUNT_TYPE, admin, "Administrator").is_ok());
        assert!(check_tenant_label(&ACCOUNT_TYPE, admin, "Local admin rights").is_ok());
        let err = check_tenant_label(&ACCOUNT_TYPE, admin, "Standard User").unwrap_err();
        assert!(matches!(
            err,
            CatalogError::MeaningMismatch { value_id: "enrollment_autopilot_dpp_accountype_0", .. }
        ));
        let mode = DEPLOYMENT_MODE.option("enrollment_autopilot_dpp_deploymentmode_0").unwrap();
        assert!(check_tenant_label(&DEPLOYMENT_MODE, mode, "Single user").is_ok());
    }

    #[test]
    fn tenant_definitions_are_checked_option_by_option() {
        // Shape of the Microsoft365DSC mock of the account type definition.
        let agreeing = serde_json::json!({
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingDefinition",
            "id": "enrollment_autopilot_dpp_accountype",
            "options": [
                { "itemId": "enrollment_autopilot_dpp_accountype_0", "name": "Administrator" },
                { "itemId": "enrollment_autopilot_dpp_accountype_1", "name": "StandardUser", "displayName": "Standard user" } ]
        });
        assert_eq!(check_definition(&agreeing), Ok(()));
        let mut flipped = agreeing.clone();
        flipped["options"][1]["displayName"] = "Administrator".into();
        assert!(matches!(
            check_definition(&flipped),
            Err(CatalogError::MeaningMismatch { value_id: "enrollment_autopilot_dpp_accountype_1", .. })
        ));
        let mut extra = agreeing.clone();
        extra["options"][1]["itemId"] = "enrollment_autopilot_dpp_accountype_2".into();
        assert!(matches!(check_definition(&extra), Err(CatalogError::UnknownValue { .. })));
        let unknown = serde_json::json!({ "id": "enrollment_autopilot_dpp_other", "options": [] });
        assert!(matches!(check_definition(&unknown), Err(CatalogError::UnknownSetting { .. })));
        let skip = serde_json::json!({ "id": "enrollment_autopilot_dpp_allowskip", "options": [
            { "itemId": "enrollment_autopilot_dpp_allowskip_0", "name": "Yes" } ] });
        assert!(matches!(check_definition(&skip), Err(CatalogError::MeaningMismatch { .. })));
    }
}
