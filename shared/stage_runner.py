"""Stage event handling (filled in by the pipeline work)."""


def handle_stage_event(stage, cloud_event):
    raise NotImplementedError


def handle_dead_letter(cloud_event):
    raise NotImplementedError
