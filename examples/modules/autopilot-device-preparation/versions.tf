terraform {
  required_version = ">= 1.11"
  required_providers {
    autopilot = {
      source = "autopilot/autopilot"
    }
  }
}
