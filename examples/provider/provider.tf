terraform {
  required_providers {
    autopilot = {
      source = "autopilot/autopilot"
    }
  }
}

# Credentials come from the environment (ARM_TENANT_ID, ARM_CLIENT_ID, ARM_CLIENT_SECRET, ...)
# or from the attributes below. See the authentication guide for every method.
provider "autopilot" {
  tenant_id = var.tenant_id
  client_id = var.client_id
}

variable "tenant_id" {
  type        = string
  description = "The Microsoft Entra tenant id."
}

variable "client_id" {
  type        = string
  description = "The application (client) id of the Terraform application."
}
