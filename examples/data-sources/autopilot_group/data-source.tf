# By exact display name (quotes and other characters are escaped for the Graph filter).
data "autopilot_group" "users" {
  display_name = "Autopilot DPP users"
}
