# Application with a certificate: a PEM file holding the certificate and its unencrypted
# private key (convert a .pfx with: openssl pkcs12 -in app.pfx -nodes -out app.pem).
# Environment: ARM_CLIENT_CERTIFICATE_PATH (or ARM_CLIENT_CERTIFICATE with base64 content).
provider "autopilot" {
  alias                   = "client_certificate"
  tenant_id               = var.tenant_id
  client_id               = var.client_id
  client_certificate_path = "${path.module}/app.pem"
}
