"""Stage function: deployment. Fed by the push subscription of its topic (see shared/topology.py)."""

import functions_framework

from shared import stage_runner

STAGE = "deployment"


@functions_framework.cloud_event
def handle(cloud_event):
    stage_runner.handle_stage_event(STAGE, cloud_event)
