"""Dead-letter handler: marks the pipeline of a message that could not be processed as failed."""

import functions_framework

from shared import stage_runner


@functions_framework.cloud_event
def handle(cloud_event):
    stage_runner.handle_dead_letter(cloud_event)
