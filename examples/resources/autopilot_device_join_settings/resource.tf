# Only the users of one group may join devices to Microsoft Entra; every other device
# registration setting keeps the tenant's current value.

resource "autopilot_device_join_settings" "this" {
  allowed_to_join = "selected"
  allowed_groups  = [var.provisioners_group_id]

  # Put back what was there when this resource adopted the policy, on destroy.
  on_destroy = "restore"
}

variable "provisioners_group_id" {
  type        = string
  description = "Object id of the group of users who may join devices."
}
