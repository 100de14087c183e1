# Look an Intune app up by its display name (or by id) to assign it or list it in the
# device preparation policy.
data "autopilot_mobile_app" "company_portal" {
  display_name = "Company Portal Bootstrapper"
}

output "company_portal" {
  value = {
    id       = data.autopilot_mobile_app.company_portal.id
    app_type = data.autopilot_mobile_app.company_portal.app_type
  }
}
