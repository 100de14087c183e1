# The resource stands for every Windows (manufacturer,model,serial) identifier of the
# tenant, so its only import id is "all".
terraform import autopilot_corporate_identifiers.windows all
