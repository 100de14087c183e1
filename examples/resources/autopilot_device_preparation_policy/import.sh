# Import by the policy id (the configurationPolicies id shown in the Intune admin center URL).
terraform import autopilot_device_preparation_policy.this 00000000-0000-0000-0000-000000000000
