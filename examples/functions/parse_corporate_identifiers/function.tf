# devices.csv holds Intune's corporate identifier format, one device per line:
#   Manufacturer,Model,Serial
#   Contoso,Surface Laptop 7,0F3A2B1C9D
locals {
  devices = provider::autopilot::parse_corporate_identifiers(file("${path.module}/devices.csv"))
}

output "device_count" {
  value = length(local.devices)
}
