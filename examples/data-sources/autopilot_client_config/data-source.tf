data "autopilot_client_config" "current" {}

output "authenticated_as" {
  value = "${data.autopilot_client_config.current.authentication_method}: ${data.autopilot_client_config.current.object_id}"
}
