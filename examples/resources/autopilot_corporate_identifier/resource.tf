resource "autopilot_corporate_identifier" "reception_laptop" {
  manufacturer  = "Microsoft Corporation"
  model         = "Surface Laptop 5"
  serial_number = "0123456789"
  description   = "Reception"
}
