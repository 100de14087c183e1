# The group's object id.
terraform import autopilot_device_group.devices 00000000-0000-0000-0000-000000000000
