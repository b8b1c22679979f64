"""Applies shared.topology's Pub/Sub declaration: topics, push subscriptions, retry, dead letters.

The same declaration is deployed by `infra/terraform/pubsub.tf` in production (checked by
`infra/terraform_check.py`); here it is applied to the emulator
(or any Pub/Sub endpoint the client libraries are pointed at). Idempotent: existing topics and
subscriptions are left as they are.
"""

from __future__ import annotations

from google.api_core import exceptions as gexc
from google.protobuf import duration_pb2

from shared import topology


def subscription_request(project: str, sub: topology.Subscription, push_endpoint: str) -> dict:
    req = {
        "name": f"projects/{project}/subscriptions/{sub.name}",
        "topic": f"projects/{project}/topics/{sub.topic}",
        "push_config": {"push_endpoint": push_endpoint},
        "ack_deadline_seconds": min(sub.ack_deadline_s, 600),
        "retry_policy": {
            "minimum_backoff": duration_pb2.Duration(seconds=sub.min_backoff_s),
            "maximum_backoff": duration_pb2.Duration(seconds=sub.max_backoff_s),
        },
    }
    if sub.dead_letter_topic:
        req["dead_letter_policy"] = {
            "dead_letter_topic": f"projects/{project}/topics/{sub.dead_letter_topic}",
            "max_delivery_attempts": sub.max_delivery_attempts,
        }
    return req


def apply_pubsub_local(env: dict[str, str]) -> list[str]:
    from google.cloud import pubsub_v1

    project = env["GOOGLE_CLOUD_PROJECT"]
    offset = int(env.get("LOCALCLOUD_PORT_OFFSET", "0") or 0)
    pub = pubsub_v1.PublisherClient()
    sub_client = pubsub_v1.SubscriberClient()
    made = []
    try:
        for t in topology.topics():
            try:
                pub.create_topic(name=f"projects/{project}/topics/{t}")
                made.append(t)
            except gexc.AlreadyExists:
                pass
        # The Pub/Sub emulator cannot attach OIDC tokens to pushes, so each push endpoint carries
        # a secret made when the local cloud starts; the stage and dead-letter functions refuse
        # any delivery without it (shared.auth.require_push).
        from shared.auth import PUSH_PARAM, push_secret

        secret = push_secret(env["SERVICE_TOKEN"])
        for s in topology.subscriptions():
            fn = topology.function(s.push_function)
            endpoint = f"http://127.0.0.1:{fn.port + offset}/?{PUSH_PARAM}={secret}"
            try:
                sub_client.create_subscription(request=subscription_request(project, s, endpoint))
                made.append(s.name)
            except gexc.AlreadyExists:
                pass
    finally:
        sub_client.close()
        pub.transport.close() if hasattr(pub, "transport") else None
    return made
