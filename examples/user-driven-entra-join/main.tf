# One tenant, the whole Windows Autopilot device preparation workflow (user-driven, Microsoft
# Entra join). Credentials come from the environment (ARM_TENANT_ID, ARM_CLIENT_ID, ...).
terraform {
  required_version = ">= 1.11"
  required_providers {
    autopilot = {
      source = "autopilot/autopilot"
    }
  }
}

provider "autopilot" {}

module "device_preparation" {
  source = "../modules/autopilot-device-preparation"

  name_prefix          = "Autopilot DPP"
  join_scope           = "selected"
  user_principal_names = ["MeganB@contoso.onmicrosoft.com", "DiegoS@contoso.onmicrosoft.com"]
  app_names            = ["7-Zip 24.08 (x64)", "Microsoft Visual Studio Code"]
  script_names         = ["Set time zone"]

  user_account_type            = "standard_user"
  installation_timeout_minutes = 90
  custom_error_message         = "Setup could not finish. Contact the service desk and quote the error code."
  allow_skip                   = false
  allow_diagnostics            = true

  corporate_identifiers_csv = "${path.module}/devices.csv"
}

output "device_group_id" {
  value = module.device_preparation.device_group_id
}

output "policy_id" {
  value = module.device_preparation.policy_id
}
