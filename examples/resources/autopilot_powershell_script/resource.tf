# A platform script that device preparation runs during OOBE (before any user signs in,
# hence the default run_as_account = "system").
resource "autopilot_powershell_script" "time_zone" {
  display_name   = "Set time zone"
  description    = "Sets the Western European time zone."
  file_name      = "set-timezone.ps1"
  script_content = file("${path.module}/set-timezone.ps1")
}
