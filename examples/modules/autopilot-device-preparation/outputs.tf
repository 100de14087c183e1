output "device_group_id" {
  description = "Object id of the device group (owned by the Intune Provisioning Client)."
  value       = autopilot_device_group.devices.id
}

output "user_group_id" {
  description = "Object id of the user group the policy is assigned to."
  value       = autopilot_group.users.id
}

output "policy_id" {
  description = "Id of the device preparation policy."
  value       = autopilot_device_preparation_policy.this.id
}

output "app_assignment_ids" {
  description = "Assignment ids, by app display name."
  value       = { for k, a in autopilot_app_assignment.apps : k => a.id }
}

output "script_assignment_ids" {
  description = "Assignment ids, by script display name."
  value       = { for k, s in autopilot_script_assignment.scripts : k => s.id }
}

output "corporate_identifier_count" {
  description = "Number of corporate identifiers managed."
  value       = length(autopilot_corporate_identifiers.devices) == 0 ? 0 : length(autopilot_corporate_identifiers.devices[0].devices)
}
