data "autopilot_user" "megan" {
  user_principal_name = "MeganB@contoso.onmicrosoft.com"
}
