# Offline tests of the module against the bundled Graph emulator (the acceptance test
# `module_terraform_test` starts the emulator and points the provider at it through ARM_* and
# AUTOPILOT_* variables). Names below are the emulator's fixtures.

variables {
  name_prefix          = "tftest"
  user_principal_names = ["MeganB@contoso.onmicrosoft.com", "DiegoS@contoso.onmicrosoft.com"]
  app_names            = ["7-Zip 24.08 (x64)", "Microsoft Visual Studio Code"]
  script_names         = ["Set time zone"]
}

run "rejects_a_timeout_out_of_range" {
  command = plan
  variables {
    installation_timeout_minutes = 5
  }
  expect_failures = [var.installation_timeout_minutes]
}

run "rejects_an_unknown_account_type" {
  command = plan
  variables {
    user_account_type = "guest"
  }
  expect_failures = [var.user_account_type]
}

run "sets_up_the_whole_workflow" {
  command = apply

  assert {
    condition     = autopilot_device_preparation_policy.this.device_group_id == autopilot_device_group.devices.id
    error_message = "The policy is not bound to the device group."
  }
  assert {
    condition     = toset(autopilot_device_preparation_policy.this.assigned_group_ids) == toset([autopilot_group.users.id])
    error_message = "The policy is not assigned to the user group."
  }
  assert {
    condition     = length(autopilot_group.users.members) == 2
    error_message = "The user group does not hold the two provisioning users."
  }
  assert {
    condition     = length(autopilot_app_assignment.apps) == 2 && alltrue([for a in autopilot_app_assignment.apps : a.target.group_id == autopilot_device_group.devices.id])
    error_message = "Apps are not assigned to the device group."
  }
  assert {
    condition     = autopilot_device_join_settings.this[0].allowed_to_join == "selected" && contains(autopilot_device_join_settings.this[0].allowed_groups, autopilot_group.users.id)
    error_message = "Only the user group should be allowed to join devices."
  }
}
