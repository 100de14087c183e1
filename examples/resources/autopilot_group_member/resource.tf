# One membership, for adding users from other modules. Do not combine with `members` on the
# same autopilot_group: that list is authoritative and would remove this member.
resource "autopilot_group_member" "adele" {
  group_id  = var.group_id
  member_id = var.user_id
}

variable "group_id" {
  type = string
}

variable "user_id" {
  type = string
}
