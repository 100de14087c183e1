# Only the users of one group may join devices to Microsoft Entra; every other device
# registration setting keeps the tenant's current value.
resource "autopilot_group" "provisioners" {
  display_name = "Autopilot device preparation users"
}

resource "autopilot_device_join_settings" "this" {
  allowed_to_join = "selected"
  allowed_groups  = [autopilot_group.provisioners.id]

  # Put back what was there when this resource adopted the policy, on destroy.
  on_destroy = "restore"
}
