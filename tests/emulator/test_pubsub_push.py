"""The push path, against the real Pub/Sub emulator and a real functions-framework process:
publish -> push -> CloudEvent; a failing handler is retried and then dead-lettered."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from google.cloud import pubsub_v1

from infra.declare import subscription_request
from shared import topology
from tests.conftest import free_port, unique

FIXTURE = Path(__file__).parent / "fixtures" / "pushfn.py"


@pytest.fixture
def pushfn(cloud_env, tmp_path):
    port = free_port()
    log = tmp_path / "deliveries.jsonl"
    log.touch()
    proc = subprocess.Popen(
        [sys.executable, "-m", "functions_framework", "--source", str(FIXTURE), "--target", "receive",
         "--signature-type", "cloudevent", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, "PUSHFN_LOG": str(log)}, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    import urllib.request
    deadline = time.monotonic() + 15
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=0.5)
            break
        except urllib.error.HTTPError:
            break  # it answers (a GET without an event is refused)
        except OSError:
            assert time.monotonic() < deadline, "functions-framework did not start"
            time.sleep(0.1)
    yield port, log
    os.killpg(proc.pid, 15)
    proc.wait(timeout=10)


def deliveries(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def wait_for(pred, timeout: float, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(step)
    return pred()


def test_push_reaches_function_as_cloudevent_and_failures_dead_letter(cloud_env, pushfn):
    port, log = pushfn
    project = cloud_env["GOOGLE_CLOUD_PROJECT"]
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    topic, dlq = unique("push-topic"), unique("push-dlq")
    for t in (topic, dlq):
        publisher.create_topic(name=f"projects/{project}/topics/{t}")
    decl = topology.Subscription(name=unique("push-sub"), topic=topic, push_function="n/a",
                                 dead_letter_topic=dlq, max_delivery_attempts=5, min_backoff_s=1)
    subscriber.create_subscription(request=subscription_request(project, decl, f"http://127.0.0.1:{port}/"))
    dlq_sub = f"projects/{project}/subscriptions/{unique('dlq-pull')}"
    subscriber.create_subscription(name=dlq_sub, topic=f"projects/{project}/topics/{dlq}")

    ok_id = publisher.publish(f"projects/{project}/topics/{topic}", b'{"hello": "world"}', kind="ok").result(10)
    bad_id = publisher.publish(f"projects/{project}/topics/{topic}", b"poison", fail="always").result(10)

    got = wait_for(lambda: [d for d in deliveries(log) if d["message_id"] == ok_id], 10)
    assert len(got) == 1, "the good message is delivered exactly once (it was acknowledged)"
    ev = got[0]
    assert ev["type"] == "google.cloud.pubsub.topic.v1.messagePublished"
    assert ev["source"].startswith("//pubsub.googleapis.com/")
    assert json.loads(base64.b64decode(ev["data"])) == {"hello": "world"}
    assert ev["attributes"] == {"kind": "ok"}

    # The failing message is retried until the dead-letter policy moves it to the DLQ topic.
    dead = None
    deadline = time.monotonic() + 60
    while dead is None and time.monotonic() < deadline:
        resp = subscriber.pull(subscription=dlq_sub, max_messages=5, timeout=5)
        for m in resp.received_messages:
            subscriber.acknowledge(subscription=dlq_sub, ack_ids=[m.ack_id])
            if m.message.data == b"poison":
                dead = m.message
    assert dead is not None, "the failing message reached the dead-letter topic"
    assert dead.attributes["fail"] == "always"
    attempts = [d for d in deliveries(log) if d["message_id"] == bad_id]
    assert len(attempts) >= 2, f"the failing message was retried (saw {len(attempts)} deliveries)"
    assert len(attempts) <= decl.max_delivery_attempts
    assert "CloudPubSubDeadLetterSourceDeliveryCount" in dead.attributes
    # The good message never went to the DLQ, and was not redelivered meanwhile.
    assert len([d for d in deliveries(log) if d["message_id"] == ok_id]) == 1
