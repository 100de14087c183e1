# With no arguments: the Intune Provisioning Client (appId f1346770-5b25-470b-88bd-d5744ab7952c).
data "autopilot_service_principal" "provisioning_client" {}
