# Windows Autopilot device preparation, user-driven Microsoft Entra join, in one module:
# 1. who may join devices, 2. the device group owned by the Intune Provisioning Client,
# 3. the user group, 4. app and script assignments to the device group, 5. the policy,
# 6. corporate identifiers. Nothing tenant-specific is baked in: everything is looked up by name.

data "autopilot_user" "provisioners" {
  for_each            = var.user_principal_names
  user_principal_name = each.value
}

data "autopilot_mobile_app" "apps" {
  for_each     = var.app_names
  display_name = each.value
}

data "autopilot_powershell_script" "scripts" {
  for_each     = var.script_names
  display_name = each.value
}

# 2. Devices are added by Intune during provisioning; the module never manages members.
resource "autopilot_device_group" "devices" {
  display_name = "${var.name_prefix} devices"
  description  = "Devices provisioned by Windows Autopilot device preparation (managed by Terraform)."
}

# 3. The people allowed to provision devices.
resource "autopilot_group" "users" {
  display_name = "${var.name_prefix} users"
  description  = "Users who provision devices with Windows Autopilot device preparation (managed by Terraform)."
  members      = [for u in data.autopilot_user.provisioners : u.id]
}

# 1. Only the user group may join devices (or everybody).
resource "autopilot_device_join_settings" "this" {
  count           = var.join_scope == null ? 0 : 1
  allowed_to_join = var.join_scope
  allowed_groups  = var.join_scope == "selected" ? [autopilot_group.users.id] : null
  on_destroy      = var.join_settings_on_destroy
}

# 4. Apps and scripts must be assigned to the device group, in device (system) context.
resource "autopilot_app_assignment" "apps" {
  for_each = data.autopilot_mobile_app.apps
  app_id   = each.value.id
  intent   = "required"
  target = {
    type     = "group"
    group_id = autopilot_device_group.devices.id
  }
}

resource "autopilot_script_assignment" "scripts" {
  for_each  = data.autopilot_powershell_script.scripts
  script_id = each.value.id
  target = {
    type     = "group"
    group_id = autopilot_device_group.devices.id
  }
}

# 5. The device preparation policy, bound to the device group and assigned to the user group.
resource "autopilot_device_preparation_policy" "this" {
  name                         = "${var.name_prefix} user-driven"
  description                  = "Windows Autopilot device preparation, user-driven Microsoft Entra join (managed by Terraform)."
  deployment_mode              = "user_driven"
  join_type                    = "entra_join"
  user_account_type            = var.user_account_type
  installation_timeout_minutes = var.installation_timeout_minutes
  custom_error_message         = var.custom_error_message
  allow_skip                   = var.allow_skip
  allow_diagnostics            = var.allow_diagnostics
  allowed_app_ids              = [for a in data.autopilot_mobile_app.apps : a.id]
  allowed_script_ids           = [for s in data.autopilot_powershell_script.scripts : s.id]
  device_group_id              = autopilot_device_group.devices.id
  assigned_group_ids           = [autopilot_group.users.id]

  # Assign apps before the policy that installs them.
  depends_on = [autopilot_app_assignment.apps, autopilot_script_assignment.scripts]
}

# 6. Corporate identifiers, from Intune's CSV format.
resource "autopilot_corporate_identifiers" "devices" {
  count         = var.corporate_identifiers_csv == null ? 0 : 1
  devices       = provider::autopilot::parse_corporate_identifiers(file(var.corporate_identifiers_csv))
  max_deletions = var.max_identifier_deletions
}
