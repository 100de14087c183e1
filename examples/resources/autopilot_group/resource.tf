data "autopilot_user" "megan" {
  user_principal_name = "MeganB@contoso.onmicrosoft.com"
}

data "autopilot_user" "diego" {
  user_principal_name = "DiegoS@contoso.onmicrosoft.com"
}

# The users who provision devices. owners and members are authoritative when set.
resource "autopilot_group" "provisioners" {
  display_name = "Autopilot DPP users"
  description  = "Users who set up devices with Windows Autopilot device preparation"
  owners       = [data.autopilot_user.megan.id]
  members      = [data.autopilot_user.megan.id, data.autopilot_user.diego.id]
}
