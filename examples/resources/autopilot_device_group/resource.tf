# An assigned security group owned by the "Intune Provisioning Client" service principal, as
# Windows Autopilot device preparation requires. Intune adds the devices; members are never managed.
resource "autopilot_device_group" "devices" {
  display_name = "Autopilot DPP devices"
  description  = "Devices provisioned by Windows Autopilot device preparation"

  # Tenants that never used device preparation may lack the service principal.
  create_provisioning_client_if_missing = true
}
