"""Dead-letter handler: marks the pipeline of a message that could not be processed as failed."""

import functions_framework

from shared import dead_letter


@functions_framework.cloud_event
def handle(cloud_event):
    dead_letter.handle_dead_letter(cloud_event)
