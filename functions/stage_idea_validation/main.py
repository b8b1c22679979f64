"""Stage function: idea_validation. Fed by the push subscription of its topic (see shared/topology.py)."""

import functions_framework

from shared import health

with health.boot_guard("stage_idea_validation"):  # a boot that fails is recorded: the crash-loop evidence (shared/health.py)
    from shared import stage_runner

STAGE = "idea_validation"


@functions_framework.cloud_event
def handle(cloud_event):
    stage_runner.handle_stage_event(STAGE, cloud_event)
