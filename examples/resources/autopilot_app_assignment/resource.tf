# Install two apps during Windows Autopilot device preparation: both must be assigned
# (intent "required") to the device group the preparation policy uses. Assignments of
# these apps made elsewhere (portal, other tools) are left alone.

data "autopilot_mobile_app" "seven_zip" {
  display_name = "7-Zip 24.08 (x64)"
}

data "autopilot_mobile_app" "vscode" {
  display_name = "Microsoft Visual Studio Code"
}

# A Win32 app: quiet installation, restart allowed after a grace period.
resource "autopilot_app_assignment" "seven_zip" {
  app_id = data.autopilot_mobile_app.seven_zip.id
  intent = "required"

  target = {
    type     = "group"
    group_id = var.device_group_id
  }

  win32_settings = {
    notifications = "hide_all"
    restart = {
      grace_period_minutes = 1440
      countdown_minutes    = 15
    }
  }
}

# A Microsoft Store (new) / WinGet app.
resource "autopilot_app_assignment" "vscode" {
  app_id = data.autopilot_mobile_app.vscode.id
  intent = "required"

  target = {
    type     = "group"
    group_id = var.device_group_id
  }

  winget_settings = {
    notifications = "hide_all"
  }
}

variable "device_group_id" {
  type        = string
  description = "Object id of the device preparation device group."
}
