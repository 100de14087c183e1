# The managed identity of the machine running Terraform (set client_id for a user-assigned
# identity). Environment: ARM_USE_MSI=true.
provider "autopilot" {
  alias     = "managed_identity"
  tenant_id = var.tenant_id
  use_msi   = true
}
