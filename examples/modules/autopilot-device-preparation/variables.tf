variable "name_prefix" {
  type        = string
  description = "Prefix of every display name this module creates, e.g. \"Autopilot DPP\"."
  default     = "Autopilot DPP"
  validation {
    condition     = length(trimspace(var.name_prefix)) > 0 && length(var.name_prefix) <= 200
    error_message = "name_prefix must be non-empty and at most 200 characters."
  }
}

variable "join_scope" {
  type        = string
  description = "Who may join devices to Microsoft Entra: \"all\", or \"selected\" (only the user group this module creates). null leaves the tenant setting alone."
  default     = "selected"
  nullable    = true
  validation {
    condition     = var.join_scope == null || contains(["all", "selected"], coalesce(var.join_scope, "all"))
    error_message = "join_scope must be \"all\", \"selected\" or null."
  }
}

variable "join_settings_on_destroy" {
  type        = string
  description = "What destroying the module does to the tenant's join settings: \"keep\" leaves them as they are, \"restore\" writes back the values from before the module changed them."
  default     = "keep"
  validation {
    condition     = contains(["keep", "restore"], var.join_settings_on_destroy)
    error_message = "join_settings_on_destroy must be \"keep\" or \"restore\"."
  }
}

variable "user_principal_names" {
  type        = set(string)
  description = "User principal names of the people who provision devices (members of the user group)."
  default     = []
  validation {
    condition     = alltrue([for u in var.user_principal_names : can(regex("^[^@\\s]+@[^@\\s]+$", u))])
    error_message = "Every entry must be a user principal name such as alex@contoso.com."
  }
}

variable "app_names" {
  type        = set(string)
  description = "Display names of the Intune apps (Win32, WinGet, ...) to install during device preparation. Each is assigned to the device group as required."
  default     = []
  validation {
    condition     = length(var.app_names) <= 25
    error_message = "Device preparation allows at most 25 apps."
  }
}

variable "script_names" {
  type        = set(string)
  description = "Display names of Intune platform (PowerShell) scripts to run during device preparation."
  default     = []
  validation {
    condition     = length(var.script_names) <= 10
    error_message = "Device preparation allows at most 10 scripts."
  }
}

variable "user_account_type" {
  type        = string
  description = "Account type of the user on the device: \"standard_user\" or \"administrator\"."
  default     = "standard_user"
  validation {
    condition     = contains(["standard_user", "administrator"], var.user_account_type)
    error_message = "user_account_type must be \"standard_user\" or \"administrator\"."
  }
}

variable "installation_timeout_minutes" {
  type        = number
  description = "Minutes allowed for app and script installation during OOBE (15-720)."
  default     = 60
  validation {
    condition     = var.installation_timeout_minutes >= 15 && var.installation_timeout_minutes <= 720 && floor(var.installation_timeout_minutes) == var.installation_timeout_minutes
    error_message = "installation_timeout_minutes must be a whole number from 15 to 720."
  }
}

variable "custom_error_message" {
  type        = string
  description = "Message shown to the user when provisioning fails. null keeps Intune's default."
  default     = null
}

variable "allow_skip" {
  type        = bool
  description = "Let the user skip setup when installation fails."
  default     = false
}

variable "allow_diagnostics" {
  type        = bool
  description = "Let the user collect diagnostics when installation fails."
  default     = true
}

variable "corporate_identifiers_csv" {
  type        = string
  description = "Path of a CSV file of Windows corporate identifiers (Manufacturer,Model,Serial). null manages none."
  default     = null
}

variable "max_identifier_deletions" {
  type        = number
  description = "Refuse a plan that would delete more corporate identifiers than this (devices without one become personal)."
  default     = 100
}
