# Application with a certificate: the PKCS#12 file (.pfx/.p12) exported with its private key, as
# for the azuread provider (a PEM bundle with an unencrypted RSA key works too).
# Environment: ARM_CLIENT_CERTIFICATE_PATH (or ARM_CLIENT_CERTIFICATE with the file's base64) and
# ARM_CLIENT_CERTIFICATE_PASSWORD.
provider "autopilot" {
  alias                       = "client_certificate"
  tenant_id                   = var.tenant_id
  client_id                   = var.client_id
  client_certificate_path     = "${path.module}/app.pfx"
  client_certificate_password = var.client_certificate_password
}

variable "client_certificate_password" {
  type        = string
  sensitive   = true
  default     = null
  description = "Password of the .pfx file (null for a file exported without one)."
}
