//! The schema shared by `autopilot_group` and `autopilot_device_group`, and the
//! `mail_nickname` validator.

use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::validator::{ValidateRequest, Validator, each_element, not_empty, string_length, uuid};
use crate::framework::value::Type;
use crate::framework::{Diagnostics, plan_modifier, timeouts};

use super::nickname;

/// Which of the two group resources.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// `autopilot_group`: owners and members managed when set.
    Group,
    /// `autopilot_device_group`: owned by the provisioning client, members never managed.
    DeviceGroup,
}

/// Checks a configured `mail_nickname` against Graph's rules.
#[derive(Debug, Clone)]
struct NicknameValidator;

impl Validator for NicknameValidator {
    fn description(&self) -> String {
        "at most 64 ASCII characters, none of @ ( ) \\ [ ] \" ; : . < > , or space".into()
    }

    fn validate(&self, req: &ValidateRequest<'_>, diags: &mut Diagnostics) {
        if let Some(s) = req.value.as_str()
            && let Err(e) = nickname::validate(s)
        {
            diags.attribute_error(req.path.clone(), "Invalid mail_nickname", e.to_string());
        }
    }
}

fn id_set_attribute(name: &str, description: &str) -> Attribute {
    Attribute::set_of(name, Type::String).optional().validator(each_element(uuid())).description(description)
}

/// The schema of either flavour.
pub fn schema(flavour: Flavour) -> Schema {
    let mut attributes = vec![
        Attribute::string("id")
            .computed()
            .plan_modifier(plan_modifier::use_state_for_unknown())
            .description("The group's object id."),
        Attribute::string("object_id")
            .computed()
            .plan_modifier(plan_modifier::use_state_for_unknown())
            .description("The group's object id (same as `id`), for use where other resources ask for an object id."),
        Attribute::string("display_name")
            .required()
            .validator(string_length(1, 256))
            .description("The group's name. Changing it renames the group in place."),
        Attribute::string("description")
            .optional()
            .validator(not_empty())
            .description("A description of the group. Omit it for none (Graph does not accept an empty one)."),
        Attribute::string("mail_nickname")
            .optional()
            .computed()
            .validator(NicknameValidator)
            .plan_modifier(plan_modifier::use_state_for_unknown())
            .description(
                "The mail alias Graph requires even for mail-disabled groups. When unset it is derived once from \
                 `display_name` (lower case, runs of characters Graph refuses replaced by `-`, at most 64 characters) \
                 and kept when the group is renamed.",
            ),
        Attribute::bool("prevent_duplicate_names")
            .default_value(false)
            .description(
                "When true, planning fails if another group already has this `display_name` (Graph compares names \
                 case-insensitively). The group being updated does not count.",
            ),
    ];
    match flavour {
        Flavour::Group => {
            attributes.push(id_set_attribute(
                "owners",
                "Object ids of the owners (users or service principals). When set, exactly these are owners: others are \
                 removed, after the new ones are added. When unset, owners are not managed. Up to 20 owners and members \
                 together are bound in the create request; the rest are added right after. Graph does not allow \
                 removing a group's last user owner; such a plan fails with an explanation.",
            ));
            attributes.push(id_set_attribute(
                "members",
                "Object ids of the members (users, groups, devices, service principals). When set, exactly these are \
                 members; when unset, members are not managed (use `autopilot_group_member` then). Large sets are read \
                 999 at a time and changed in `$batch`es of 20 requests with up to 20 members each. For groups of \
                 thousands of members, prefer leaving `members` unset and managing membership elsewhere: Terraform \
                 compares every planned element of a set with every applied one after a change, so an apply that \
                 changes a 10,000-member set spent over 15 minutes in Terraform itself in our benchmark (refreshing \
                 such a group stays cheap: 11 requests).",
            ));
        }
        Flavour::DeviceGroup => {
            attributes.push(id_set_attribute(
                "owners",
                "Object ids of owners besides the Intune Provisioning Client, which is always an owner and is not listed \
                 here. When set, exactly these (plus the provisioning client) are owners; when unset, other owners are \
                 not managed. Members are never managed: device preparation adds devices itself.",
            ));
            attributes.push(
                Attribute::bool("create_provisioning_client_if_missing").default_value(false).description(
                    "Create the Intune Provisioning Client service principal (appId \
                     `f1346770-5b25-470b-88bd-d5744ab7952c`) when the tenant has none. Needs the \
                     `Application.ReadWrite.All` permission.",
                ),
            );
            attributes.push(
                Attribute::string("provisioning_client_object_id")
                    .computed()
                    .plan_modifier(plan_modifier::use_state_for_unknown())
                    .description(
                        "Object id of the Intune Provisioning Client service principal that owns the group. If someone \
                         removes it as owner, the next plan shows this changing and apply adds it back.",
                    ),
            );
        }
    }
    attributes.push(timeouts::block(&["create", "read", "update", "delete"]));
    let description = match flavour {
        Flavour::Group => {
            "An assigned (static) Microsoft Entra security group, e.g. the users who set up devices with Windows \
             Autopilot device preparation. The device preparation policy is assigned to this group."
        }
        Flavour::DeviceGroup => {
            "The assigned security group that Windows Autopilot device preparation adds devices to. It is owned by the \
             Intune Provisioning Client service principal, without which device preparation silently fails to add \
             devices; its members are left to Intune."
        }
    };
    Schema { version: 0, block: Block { description: description.into(), attributes, ..Default::default() } }
}
