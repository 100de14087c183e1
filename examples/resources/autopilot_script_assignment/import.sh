# <script_id>/<assignment_id> (list them with GET /beta/deviceManagement/deviceManagementScripts/<script_id>/assignments).
terraform import autopilot_script_assignment.time_zone d4000000-0000-4000-8000-000000000001/0f4b7c62-3f5e-4f2a-9d55-6a0c3e1b2a10
