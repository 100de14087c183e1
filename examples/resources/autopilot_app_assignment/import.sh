# <app_id>/<assignment_id>; Intune's assignment ids look like <group_id>_<intent>_<0|1>
# (list them with GET /beta/deviceAppManagement/mobileApps/<app_id>/assignments).
terraform import autopilot_app_assignment.seven_zip c3000000-0000-4000-8000-000000000001/c1000000-0000-4000-8000-0000000000d1_1_0
