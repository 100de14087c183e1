# Workload identity federation (GitHub Actions, Azure Pipelines, Kubernetes). In GitHub Actions
# set ARM_USE_OIDC=true and grant the job `id-token: write`: the provider requests the token
# from ACTIONS_ID_TOKEN_REQUEST_URL itself. On Kubernetes, AZURE_FEDERATED_TOKEN_FILE is used.
provider "autopilot" {
  alias     = "oidc"
  tenant_id = var.tenant_id
  client_id = var.client_id
  use_oidc  = true
}
