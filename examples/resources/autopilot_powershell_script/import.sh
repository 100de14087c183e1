# The script's id.
terraform import autopilot_powershell_script.time_zone d4000000-0000-4000-8000-000000000001
