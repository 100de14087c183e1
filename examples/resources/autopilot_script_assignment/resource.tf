# Run a platform script during Windows Autopilot device preparation: it must be assigned to
# the device group the preparation policy uses. Other assignments of the script are kept.
resource "autopilot_powershell_script" "time_zone" {
  display_name   = "Set time zone"
  file_name      = "set-timezone.ps1"
  script_content = "Set-TimeZone -Id 'W. Europe Standard Time'"
}

resource "autopilot_script_assignment" "time_zone" {
  script_id = autopilot_powershell_script.time_zone.id

  target = {
    type     = "group"
    group_id = var.device_group_id
  }
}

variable "device_group_id" {
  type        = string
  description = "Object id of the device preparation device group."
}
