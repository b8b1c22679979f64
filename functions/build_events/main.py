"""Cloud Build's notifications (topic `cloud-builds`, push subscription `cloud-builds-push`): a finished build
completes or fails the deployment stage that is waiting for it (shared/build_events.py, decision 0040)."""

import functions_framework

from shared import health

with health.boot_guard("build_events"):  # a boot that fails is recorded: the crash-loop evidence (shared/health.py)
    from shared import build_events


@functions_framework.cloud_event
def handle(cloud_event):
    build_events.handle_event(cloud_event)
