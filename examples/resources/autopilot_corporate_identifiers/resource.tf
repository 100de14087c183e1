# Every Windows corporate identifier of the tenant, from a CSV file kept next to the
# configuration (Manufacturer,Model,Serial[,Description]; a header row is allowed):
#
#   Manufacturer,Model,Serial Number,Description
#   Microsoft Corporation,Surface Laptop 5,0123456789,Reception
#   LENOVO,21HES0P800,PF4ABCDE,
resource "autopilot_corporate_identifiers" "windows" {
  devices = provider::autopilot::parse_corporate_identifiers(file("${path.module}/corporate-identifiers.csv"))

  # Refuse plans that would delete more than 50 existing identifiers (default: 100).
  max_deletions = 50

  timeouts = {
    # Intune allows ~100 writes per 20 s: about 4 minutes per 1,000 deletions.
    delete = "45m"
  }
}

# Devices can also be written in HCL (all four attributes are needed):
resource "autopilot_corporate_identifiers" "small" {
  devices = [
    { manufacturer = "Microsoft Corporation", model = "Surface Laptop 5", serial_number = "0123456789", description = "Reception" },
    { manufacturer = "LENOVO", model = "21HES0P800", serial_number = "PF4ABCDE", description = null },
  ]
}
