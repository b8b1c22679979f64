import subprocess
import sys

from infra import deploy, package
from shared import topology


def test_every_function_is_packaged_with_shared_and_requirements(tmp_path):
    for fn in topology.FUNCTIONS:
        dest = package.package(fn.name, tmp_path)
        assert (dest / "main.py").exists() and (dest / "shared" / "settings.py").exists()
        assert (dest / "requirements.txt").read_text().count("functions-framework==") == 1


def test_packaged_function_imports_without_the_repository(tmp_path):
    dest = package.package("signup", tmp_path)
    code = ("import functions_framework; functions_framework.create_app('signup', 'main.py', 'http')")
    env = {"PATH": "/usr/bin:/bin", "FACTORY_ENV": "production", "GOOGLE_CLOUD_PROJECT": "saas-factory-prod"}
    p = subprocess.run([sys.executable, "-c", code], cwd=dest, env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr


def test_deploy_plan_covers_every_function_topic_and_schedule():
    cmds = [" ".join(c) for c in deploy.plan("saas-factory-prod", "us-central1")]
    for fn in topology.FUNCTIONS:
        assert any(c.startswith(f"gcloud functions deploy {fn.service_id} ") for c in cmds), fn.name
    for t in topology.topics():
        assert f"gcloud pubsub topics create {t} --project=saas-factory-prod" in cmds
    assert any("--no-allow-unauthenticated" in c and "deploy watchdog" in c for c in cmds)
    assert any("scheduler jobs create http outbox-sweep" in c for c in cmds)
    assert not any("EMULATOR" in c for c in cmds)
    dlq_updates = [c for c in cmds if c.startswith("gcloud pubsub subscriptions update")]
    assert len(dlq_updates) == len(topology.STAGES)
    assert all("--dead-letter-topic=factory-dead-letter --max-delivery-attempts=5" in c for c in dlq_updates)
