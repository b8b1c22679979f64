"""Google clients, created lazily and once per process (never at import time).

Functions run forked from a host process locally, so nothing here may open a gRPC channel
before the fork; every getter builds its client on first use.
"""

from __future__ import annotations

import functools
import threading

from shared.settings import get_settings

_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def firestore():
    from google.cloud import firestore as fs

    s = get_settings()
    if s.local:
        from google.auth.credentials import AnonymousCredentials

        return fs.Client(project=s.project_id, credentials=AnonymousCredentials())
    return fs.Client(project=s.project_id)


@functools.lru_cache(maxsize=1)
def publisher():
    from google.cloud import pubsub_v1
    from google.cloud.pubsub_v1.types import BatchSettings

    # One message per batch, sent at once: a stage hop must not wait for a batch to fill.
    return pubsub_v1.PublisherClient(batch_settings=BatchSettings(max_messages=1, max_latency=0.001))


@functools.lru_cache(maxsize=1)
def subscriber():
    from google.cloud import pubsub_v1

    return pubsub_v1.SubscriberClient()


def topic_path(topic: str) -> str:
    return f"projects/{get_settings().project_id}/topics/{topic}"


def subscription_path(sub: str) -> str:
    return f"projects/{get_settings().project_id}/subscriptions/{sub}"


@functools.lru_cache(maxsize=1)
def firebase_app():
    import firebase_admin

    s = get_settings()
    with _lock:
        try:
            return firebase_admin.get_app()
        except ValueError:
            pass
        if s.local:
            from firebase_admin import credentials
            from google.auth.credentials import AnonymousCredentials

            class _Anonymous(credentials.Base):
                def get_credential(self):
                    return AnonymousCredentials()

            return firebase_admin.initialize_app(_Anonymous(), {"projectId": s.project_id})
        return firebase_admin.initialize_app(options={"projectId": s.project_id})


@functools.lru_cache(maxsize=1)
def tasks():
    from google.cloud import tasks_v2

    s = get_settings()
    if s.local and s.tasks_emulator_host:
        import grpc
        from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

        channel = grpc.insecure_channel(s.tasks_emulator_host)
        return tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
    return tasks_v2.CloudTasksClient()
