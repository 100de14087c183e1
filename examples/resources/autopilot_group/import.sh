# The group's object id.
terraform import autopilot_group.provisioners 00000000-0000-0000-0000-000000000000
