"""Production deployment plan, generated from shared/topology.py (the same declaration the local
cloud runs). Prints the gcloud commands; `--apply` runs them.

    python -m infra.deploy --project PROJECT [--region us-central1] [--apply]

Every environment variable the code reads (shared/settings.py) is set here or comes from Secret
Manager; every function runs as its own service account (roles commented below).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared import topology  # noqa: E402

# Roles per function's service account (least privilege):
ROLES = {
    "signup": ["roles/datastore.user", "roles/firebaseauth.admin"],  # tenant docs; create users, claims
    "accounts": ["roles/datastore.user", "roles/firebaseauth.admin"],  # membership; claims, revocation
    "billing": ["roles/datastore.user", "roles/firebaseauth.viewer"],  # billing docs; token revocation check
    "stripe_webhook": ["roles/datastore.user"],  # entitlements, processed event ids
    "ideas": ["roles/datastore.user", "roles/pubsub.publisher", "roles/cloudtasks.enqueuer",
              "roles/iam.serviceAccountUser"],  # pipeline tx; first stage message; watchdog task (OIDC as watchdog SA)
    "factory": ["roles/datastore.user", "roles/pubsub.publisher", "roles/cloudtasks.enqueuer",
                "roles/iam.serviceAccountUser"],  # reads; retry/approve dispatch
    "dead_letter": ["roles/datastore.user"],
    "watchdog": ["roles/datastore.user", "roles/pubsub.publisher", "roles/cloudtasks.enqueuer",
                 "roles/iam.serviceAccountUser"],
}
STAGE_ROLES = ["roles/datastore.user", "roles/pubsub.publisher", "roles/cloudtasks.enqueuer",
               "roles/iam.serviceAccountUser"]


def sa(project: str, fn: topology.Function) -> str:
    return f"fn-{fn.service_id}"[:30] + f"@{project}.iam.gserviceaccount.com"


def plan(project: str, region: str) -> list[list[str]]:
    cmds: list[list[str]] = []
    for t in topology.topics():
        cmds.append(["gcloud", "pubsub", "topics", "create", t, f"--project={project}"])
    cmds.append(["gcloud", "tasks", "queues", "create", topology.WATCHDOG_QUEUE, f"--location={region}",
                 f"--project={project}", "--max-attempts=3"])
    watchdog_sa = sa(project, topology.function("watchdog"))
    # The identity Eventarc/Pub/Sub pushes with (OIDC, audience = the function's URL); the stage and
    # dead-letter functions accept pushes only from it (shared.auth.require_push).
    push_sa = f"fn-pubsub-push@{project}.iam.gserviceaccount.com"
    cmds.append(["gcloud", "iam", "service-accounts", "create", "fn-pubsub-push", f"--project={project}"])
    cmds.append(["gcloud", "projects", "add-iam-policy-binding", project, f"--member=serviceAccount:{push_sa}",
                 "--role=roles/run.invoker"])  # may invoke the (private) push-triggered services, nothing else
    env_common = {
        "FACTORY_ENV": "production", "GOOGLE_CLOUD_PROJECT": project, "FUNCTION_REGION": region,
        "TASKS_LOCATION": region, "SERVICE_ACCOUNTS": f"{watchdog_sa},{push_sa}",
        "FUNCTION_URL_TEMPLATE": f"https://{{service}}-{{project_number}}.{region}.run.app".replace(
            "{project_number}", "PROJECT_NUMBER"),
        "PUBLIC_BASE_URL": f"https://{project}.web.app",
    }
    secrets = "STRIPE_SECRET_KEY=stripe-secret-key:latest,STRIPE_WEBHOOK_SECRET=stripe-webhook-secret:latest"
    for fn in topology.FUNCTIONS:
        account = sa(project, fn)
        cmds.append(["gcloud", "iam", "service-accounts", "create", account.split("@")[0], f"--project={project}"])
        for role in ROLES.get(fn.name, STAGE_ROLES):
            cmds.append(["gcloud", "projects", "add-iam-policy-binding", project,
                         f"--member=serviceAccount:{account}", f"--role={role}"])
        env = ",".join(f"{k}={v}" for k, v in {**env_common, **fn.env}.items())
        cmd = ["gcloud", "functions", "deploy", fn.service_id, "--gen2", "--runtime=python311",
               f"--region={region}", f"--project={project}", f"--source=build/{fn.name}",
               f"--entry-point={fn.target}", f"--memory={fn.memory}", f"--timeout={fn.timeout_s}s",
               f"--service-account={account}", f"--set-env-vars={env}", f"--set-secrets={secrets}"]
        if fn.signature == "http":
            cmd.append("--trigger-http")
            cmd.append("--allow-unauthenticated" if fn.public else "--no-allow-unauthenticated")
        else:
            cmd.append(f"--trigger-topic={fn.topic}")
            cmd.append(f"--trigger-service-account={push_sa}")
            cmd.append("--retry")
        cmds.append(cmd)
    for sub in topology.subscriptions():
        # Eventarc creates the push subscription for each trigger; set its retry and dead-letter policy.
        if not sub.dead_letter_topic:
            continue  # the dead-letter handler's own subscription keeps Eventarc's defaults
        cmds.append(["gcloud", "pubsub", "subscriptions", "update", f"SUBSCRIPTION_OF_{sub.push_function}",
                     f"--project={project}", f"--min-retry-delay={sub.min_backoff_s}s",
                     f"--max-retry-delay={sub.max_backoff_s}s", f"--dead-letter-topic={sub.dead_letter_topic}",
                     f"--max-delivery-attempts={sub.max_delivery_attempts}"])
    for job in topology.SCHEDULES:
        cmds.append(["gcloud", "scheduler", "jobs", "create", "http", job.name, f"--schedule={job.cron}",
                     f"--location={region}", f"--project={project}", "--http-method=POST",
                     f"--uri=WATCHDOG_URL{job.path}", f"--oidc-service-account-email={watchdog_sa}"])
    cmds.append(["firebase", "deploy", "--only", "hosting,firestore:rules,firestore:indexes", "--project", project])
    return cmds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--project", required=True)
    ap.add_argument("--region", default="us-central1")
    ap.add_argument("--apply", action="store_true")
    args = ap.parse_args()
    from infra import package

    for fn in topology.FUNCTIONS:
        package.package(fn.name)
    # The dashboard's Firebase SDK files are copied from the pinned npm package, not committed.
    subprocess.run(["bash", str(ROOT / "emulator" / "vendor_web.sh")], check=True)
    for cmd in plan(args.project, args.region):
        print(shlex.join(cmd))
        if args.apply:
            subprocess.run(cmd, check=False)


if __name__ == "__main__":
    main()
