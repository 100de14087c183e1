# The policy is a tenant-wide singleton with a fixed id.
terraform import autopilot_device_join_settings.this deviceRegistrationPolicy
