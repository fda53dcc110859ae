"""The credentials every test app is built with."""

ADMIN_TOKEN = "test-admin-token"
PD_SECRET = "test-pagerduty-secret"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
