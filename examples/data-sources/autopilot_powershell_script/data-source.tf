# A platform script made in the Intune portal, by display name (or by id).
data "autopilot_powershell_script" "rename" {
  display_name = "Rename computer"
}

output "rename_script_id" {
  value = data.autopilot_powershell_script.rename.id
}
