"""The one declaration of the system's shape: functions, topics, subscriptions, queues.

The local cloud (`emulator/localcloud.py`) starts and wires everything from this module, and
`infra/` deploys from it, so local and production cannot drift apart. HTTP routing is the one
exception: it lives in `firebase.json` (Hosting rewrites), which both the local front door and
Firebase Hosting read; a test checks that every HTTP function here has a rewrite there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STAGES: tuple[str, ...] = (
    "idea_validation",
    "tech_stack",
    "uiux_design",
    "development",
    "qa",
    "deployment",
)

# Seed weights: the pipeline's progress once each stage has completed.
STAGE_PROGRESS: dict[str, int] = {
    "idea_validation": 20,
    "tech_stack": 35,
    "uiux_design": 50,
    "development": 75,
    "qa": 90,
    "deployment": 100,
}

# Pub/Sub allows at most 5..100 delivery attempts before dead-lettering; 5 is the minimum.
MAX_DELIVERY_ATTEMPTS = 5
DEAD_LETTER_TOPIC = "factory-dead-letter"
# Cloud Build publishes every build's changes of status here (the topic must be named exactly this); the
# build_events function completes the deployment stage a build was submitted for (decision 0040).
CLOUD_BUILDS_TOPIC = "cloud-builds"
WATCHDOG_QUEUE = "stage-watchdog"


def stage_topic(stage: str) -> str:
    return "stage-" + stage.replace("_", "-")


def next_stage(stage: str) -> str | None:
    i = STAGES.index(stage)
    return STAGES[i + 1] if i + 1 < len(STAGES) else None


# Background functions (no person waits on them) may wait longer on Firestore than the API's
# 3 s: a stage commit with large artifacts under load is slow, not lost.
BACKGROUND_ENV = {"FIRESTORE_DEADLINE_S": "20"}


@dataclass(frozen=True)
class Function:
    """One Cloud Run function: its source folder under functions/, entry point and trigger."""

    name: str  # folder under functions/ and the Cloud Run service id (with '-' for '_')
    target: str  # entry point in main.py
    signature: str  # "http" | "cloudevent"
    port: int  # local port (before LOCALCLOUD_PORT_OFFSET)
    topic: str | None = None  # cloudevent functions: the topic whose push subscription feeds it
    env: dict[str, str] = field(default_factory=dict)
    memory: str = "512Mi"
    timeout_s: int = 60
    public: bool = True  # reachable through the front door (Hosting rewrite); False: internal only

    @property
    def service_id(self) -> str:
        return self.name.replace("_", "-")

    @property
    def subscription(self) -> str | None:
        return f"{self.topic}-push" if self.topic else None


FUNCTIONS: tuple[Function, ...] = (
    Function("signup", "signup", "http", 5101),
    Function("accounts", "accounts", "http", 5102),
    Function("billing", "billing", "http", 5103),
    Function("stripe_webhook", "stripe_webhook", "http", 5104),
    Function("ideas", "ideas", "http", 5105),
    Function("factory", "factory", "http", 5106),
    *(
        Function(
            f"stage_{s}",
            "handle",
            "cloudevent",
            5111 + i,
            topic=stage_topic(s),
            env={"STAGE": s, **BACKGROUND_ENV},
            memory="1Gi" if s in ("development", "qa", "deployment") else "512Mi",
            timeout_s=300 if s in ("qa", "deployment") else 120,
        )
        for i, s in enumerate(STAGES)
    ),
    Function("dead_letter", "handle", "cloudevent", 5117, topic=DEAD_LETTER_TOPIC, env=dict(BACKGROUND_ENV)),
    # Completes or fails the deployment stage when its build ends (creates the app's Cloud Run service).
    Function("build_events", "handle", "cloudevent", 5119, topic=CLOUD_BUILDS_TOPIC, env=dict(BACKGROUND_ENV),
             timeout_s=300),
    # Called by Cloud Tasks (watchdog deadlines) and Cloud Scheduler (sweep, reconciler) only.
    Function("watchdog", "watchdog", "http", 5118, public=False, env=dict(BACKGROUND_ENV)),
)


def function(name: str) -> Function:
    for f in FUNCTIONS:
        if f.name == name:
            return f
    raise KeyError(name)


@dataclass(frozen=True)
class Subscription:
    name: str
    topic: str
    push_function: str
    ack_deadline_s: int = 300
    min_backoff_s: int = 1
    max_backoff_s: int = 60
    dead_letter_topic: str | None = DEAD_LETTER_TOPIC
    max_delivery_attempts: int = MAX_DELIVERY_ATTEMPTS


def subscriptions() -> list[Subscription]:
    subs = []
    for f in FUNCTIONS:
        if f.signature != "cloudevent" or not f.topic:
            continue
        is_dlq = f.topic == DEAD_LETTER_TOPIC
        subs.append(
            Subscription(
                name=f.subscription or "",
                topic=f.topic,
                push_function=f.name,
                ack_deadline_s=f.timeout_s if not is_dlq else 60,
                # The dead-letter handler's own failures must not loop back into itself.
                dead_letter_topic=None if is_dlq else DEAD_LETTER_TOPIC,
            )
        )
    return subs


def topics() -> list[str]:
    return [stage_topic(s) for s in STAGES] + [DEAD_LETTER_TOPIC, CLOUD_BUILDS_TOPIC]


@dataclass(frozen=True)
class Schedule:
    """A Cloud Scheduler job calling an internal function route (emulator/scheduler.py locally)."""

    name: str
    cron: str
    function: str
    path: str
    local_every_s: float = 0.0  # locally: at most this often (0: every LOCAL_SCHEDULER_INTERVAL_S)


SCHEDULES: tuple[Schedule, ...] = (
    Schedule("outbox-sweep", "* * * * *", "watchdog", "/sweep"),
    # Finds runs whose current stage is past its deadline (indexed `deadline_at`) and re-dispatches
    # or fails them: the recovery that works with Cloud Tasks down (shared/reconciler.py).
    Schedule("stage-reconcile", "* * * * *", "watchdog", "/reconcile"),
    # Lists recent Checkout Sessions and invoices from Stripe and re-applies any paid one whose grant is
    # missing, through the webhook's reducer (shared/billing/reconcile.py, decision 0034).
    Schedule("stripe-reconcile", "*/5 * * * *", "stripe_webhook", "/reconcile", local_every_s=5.0),
)
