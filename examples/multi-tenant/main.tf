# The same module for two tenants: one provider alias per tenant, credentials per tenant from
# variables (or from a CI secret store). Each alias has its own Graph client, token cache and
# Intune write budget; both tenants are applied in one run.
terraform {
  required_version = ">= 1.11"
  required_providers {
    autopilot = {
      source = "autopilot/autopilot"
    }
  }
}

variable "tenants" {
  description = "Per-tenant credentials (application with a client secret)."
  type = map(object({
    tenant_id     = string
    client_id     = string
    client_secret = string
  }))
  sensitive = true
}

provider "autopilot" {
  alias         = "contoso"
  tenant_id     = var.tenants["contoso"].tenant_id
  client_id     = var.tenants["contoso"].client_id
  client_secret = var.tenants["contoso"].client_secret
}

provider "autopilot" {
  alias         = "fabrikam"
  tenant_id     = var.tenants["fabrikam"].tenant_id
  client_id     = var.tenants["fabrikam"].client_id
  client_secret = var.tenants["fabrikam"].client_secret
}

module "contoso" {
  source    = "../modules/autopilot-device-preparation"
  providers = { autopilot = autopilot.contoso }

  name_prefix          = "Autopilot DPP"
  user_principal_names = ["MeganB@contoso.onmicrosoft.com"]
  app_names            = ["7-Zip 24.08 (x64)"]
}

module "fabrikam" {
  source    = "../modules/autopilot-device-preparation"
  providers = { autopilot = autopilot.fabrikam }

  name_prefix          = "Autopilot DPP"
  join_scope           = "all"
  user_principal_names = ["AdeleV@contoso.onmicrosoft.com"]
  app_names            = ["Microsoft Visual Studio Code"]
  script_names         = ["Set time zone"]
}
