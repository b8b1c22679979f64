"""Stage function: tech_stack. Fed by the push subscription of its topic (see shared/topology.py)."""

import functions_framework

from shared import health

with health.boot_guard("stage_tech_stack"):  # a boot that fails is recorded: the crash-loop evidence (shared/health.py)
    from shared import stage_runner

STAGE = "tech_stack"


@functions_framework.cloud_event
def handle(cloud_event):
    stage_runner.handle_stage_event(STAGE, cloud_event)
