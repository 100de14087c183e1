# A user-driven Microsoft Entra join policy: two apps and one script are installed during the
# out-of-box experience, devices land in the device group, and the policy applies to the
# members of the user group.
variable "device_group_id" {
  description = "Assigned security group owned by the Intune Provisioning Client service principal."
  type        = string
}

variable "user_group_id" {
  description = "Users who set up their devices with this policy."
  type        = string
}

resource "autopilot_device_preparation_policy" "this" {
  name            = "Autopilot device preparation - Entra join"
  description     = "User-driven, standard users"
  deployment_mode = "user_driven"

  user_account_type            = "standard_user"
  installation_timeout_minutes = 90
  custom_error_message         = "Setup did not finish. Call the service desk on 1234."
  allow_skip                   = false
  allow_diagnostics            = true

  allowed_app_ids = [
    "c3000000-0000-4000-8000-000000000001", # Win32 app
    "c3000000-0000-4000-8000-000000000002", # Microsoft Store (WinGet) app
  ]
  allowed_script_ids = ["d4000000-0000-4000-8000-000000000001"]

  device_group_id    = var.device_group_id
  assigned_group_ids = [var.user_group_id]
}
