"""Google clients, created lazily and once per process (never at import time).

Functions run forked from a host process locally, so nothing here may open a gRPC channel
before the fork; every getter builds its client on first use.
"""

from __future__ import annotations

import functools
import threading

from shared.settings import get_settings

_lock = threading.Lock()

# Reconnect quickly after the service comes back (gRPC's default backoff grows to 120 s, and a
# channel in backoff fails every call at once: "3 of 6 dispatches failed to arm after Tasks returned").
FAST_RECONNECT = [("grpc.initial_reconnect_backoff_ms", 200), ("grpc.min_reconnect_backoff_ms", 200),
                  ("grpc.max_reconnect_backoff_ms", 2000)]


STREAMS = frozenset({"listen", "write"})


DEFAULT_DATABASE = "(default)"


@functools.lru_cache(maxsize=32)
def firestore(database: str = DEFAULT_DATABASE):
    """The Firestore client of one database of the project: `(default)`, or a tenant's own named database
    (shared.store routes an isolated tenant there). Its transactions refuse documents of another database."""
    from google.cloud import firestore as fs

    s = get_settings()
    client_class = _one_database_client(fs)
    if s.local:
        from google.auth.credentials import AnonymousCredentials

        client = client_class(project=s.project_id, credentials=AnonymousCredentials(), database=database)
    else:
        client = client_class(project=s.project_id, database=database)
    bound_calls(client._firestore_api._transport, s.firestore_deadline_s)
    return client


class CrossDatabaseError(RuntimeError):
    """A transaction named a document of another database. Firestore cannot commit across databases, and
    the emulator drops such a write without an error, so this is refused before anything is sent."""


@functools.lru_cache(maxsize=1)
def _one_database_client(fs):
    from google.cloud.firestore_v1.transaction import Transaction

    def check(tx, ref) -> None:
        owner = getattr(ref, "_client", None) or getattr(getattr(ref, "_parent", None), "_client", None)
        if owner is not None and owner._database_string != tx._client._database_string:
            raise CrossDatabaseError(f"a transaction on {tx._client._database_string} named a document of "
                                     f"{owner._database_string}")

    class OneDatabaseTransaction(Transaction):
        def get(self, ref_or_query, *args, **kwargs):
            check(self, ref_or_query)
            return super().get(ref_or_query, *args, **kwargs)

        def get_all(self, references, *args, **kwargs):
            references = list(references)
            for ref in references:
                check(self, ref)
            return super().get_all(references, *args, **kwargs)

        def create(self, reference, *args, **kwargs):
            check(self, reference)
            return super().create(reference, *args, **kwargs)

        def set(self, reference, *args, **kwargs):
            check(self, reference)
            return super().set(reference, *args, **kwargs)

        def update(self, reference, *args, **kwargs):
            check(self, reference)
            return super().update(reference, *args, **kwargs)

        def delete(self, reference, *args, **kwargs):
            check(self, reference)
            return super().delete(reference, *args, **kwargs)

    class Client(fs.Client):
        def transaction(self, **kwargs):
            return OneDatabaseTransaction(self, **kwargs)

    return Client


def bound_calls(transport, deadline_s: float) -> None:
    """Give every RPC of a GAPIC transport a deadline of `deadline_s`, retries included.

    The generated defaults are 60 s per attempt and 60 s of retries, so a frozen or missing
    Firestore hangs a request for a minute. Every call made without an explicit timeout uses
    these defaults, so this one place bounds them all."""
    streams = [getattr(transport, name) for name in STREAMS if hasattr(transport, name)]
    for method, wrapped in transport._wrapped_methods.items():
        if any(method is st for st in streams):  # a realtime listener's stream lives as long as it is wanted
            continue
        if getattr(wrapped, "_timeout", None) is not None:
            wrapped._timeout = min(float(wrapped._timeout), deadline_s) if isinstance(
                wrapped._timeout, (int, float)) else deadline_s
        retry = getattr(wrapped, "_retry", None)
        if retry is not None and hasattr(retry, "with_timeout"):
            wrapped._retry = retry.with_timeout(deadline_s)


@functools.lru_cache(maxsize=1)
def storage():
    """Cloud Storage (run artifacts). Locally the storage emulator (STORAGE_EMULATOR_HOST), anonymously."""
    from google.cloud import storage as gcs

    s = get_settings()
    if s.local and s.storage_emulator_host:
        from google.auth.credentials import AnonymousCredentials

        return gcs.Client(project=s.project_id, credentials=AnonymousCredentials(),
                          client_options={"api_endpoint": s.storage_emulator_host})
    return gcs.Client(project=s.project_id)


@functools.lru_cache(maxsize=1)
def publisher():
    from google.cloud import pubsub_v1
    from google.cloud.pubsub_v1.types import BatchSettings

    # One message per batch, sent at once: a stage hop must not wait for a batch to fill.
    batch = BatchSettings(max_messages=1, max_latency=0.001)
    s = get_settings()
    if s.local and s.pubsub_emulator_host:
        import grpc
        from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport

        # The emulator restarts in drills: reconnect within a second or two, not after minutes.
        channel = grpc.insecure_channel(s.pubsub_emulator_host, options=FAST_RECONNECT)
        return pubsub_v1.PublisherClient(batch_settings=batch, transport=PublisherGrpcTransport(channel=channel))
    return pubsub_v1.PublisherClient(batch_settings=batch)


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

        channel = grpc.insecure_channel(s.tasks_emulator_host, options=FAST_RECONNECT)
        client = tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
    else:
        client = tasks_v2.CloudTasksClient()
    bound_calls(client._transport, s.tasks_deadline_s)
    return client


def reset_tasks() -> None:
    """Drop the Tasks client so the next call opens a fresh channel (after a failure)."""
    with _lock:
        if tasks.cache_info().currsize:
            try:
                tasks().transport.close()
            except Exception:  # noqa: BLE001 - closing a broken channel may fail; it is dropped anyway
                pass
            tasks.cache_clear()
