# Application with a client secret. Prefer the environment: ARM_TENANT_ID, ARM_CLIENT_ID,
# ARM_CLIENT_SECRET, so the secret never sits in a file.
provider "autopilot" {
  alias         = "client_secret"
  tenant_id     = var.tenant_id
  client_id     = var.client_id
  client_secret = var.client_secret
}

variable "client_secret" {
  type      = string
  sensitive = true
  default   = null
}
