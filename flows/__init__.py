"""Prefect flows around bike-api, in their own environment (`make flows-env`).

See flows/requirements.in for why the flows do not share the API's environment.
"""

import os

# Prefect's temporary local server (no PREFECT_API_URL): no telemetry writes (under load they
# lock its SQLite database: "database is locked"), a longer SQLite busy wait, no UI, and two
# minutes to start instead of 20 s (on CI's two busy cores its migrations took longer than 20 s).
# Set here, in the package every flow is imported through, so before any flow imports Prefect
# and Prefect reads its settings; the environment still wins.
for _name, _value in {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_DATABASE_TIMEOUT": "60",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_SERVER_UI_ENABLED": "false",
}.items():
    os.environ.setdefault(_name, _value)
