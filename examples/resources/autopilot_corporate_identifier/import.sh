# By the Graph id of the imported device identity:
terraform import autopilot_corporate_identifier.reception_laptop 9f70a12f-a12f-9f70-2fa1-709f2fa1709f

# Or by the identifier itself, manufacturer,model,serial (compared case-insensitively):
terraform import autopilot_corporate_identifier.reception_laptop "Microsoft Corporation,Surface Laptop 5,0123456789"
