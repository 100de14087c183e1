# The user signed in with `az login` (delegated). The user needs the Entra and Intune roles
# for what the configuration manages (e.g. Cloud Device Administrator for device join
# settings, Intune Administrator for policies). This is the default when nothing else is set.
provider "autopilot" {
  alias     = "azure_cli"
  tenant_id = var.tenant_id
  use_cli   = true
}
