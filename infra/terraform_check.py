"""Does infra/terraform/ deploy what the code declares? Both ways, as plain sentences.

    python -m infra.terraform_check [infra/terraform]      (exit 1 and one line per mismatch)

The code side comes from shared/topology.py (functions, topics, subscriptions, queue, schedules),
shared/settings.py (each setting's variable, which are secrets, which are local-only) and the code
itself (infra/reads.py: which settings, clients, topics and Auth calls each function's code
reaches). The Terraform side is the HCL parsed with python-hcl2 (no terraform binary). Compared:

- functions: the same set; entry point, trigger, public or internal, memory, timeout;
- topics, push subscriptions (topic, function, ack deadline, retry, dead-letter policy), the push
  endpoint being that function's resource URI and the OIDC audience the URL the code checks;
- the Cloud Tasks queue and the Scheduler jobs (cron, target function and path, audience);
- environment: per function, exactly the settings its code reads (minus local-only ones) plus the
  topology's own env, with the topology's values; secrets mounted exactly where read;
- identities: one service account per function, no primitive roles, and per function Firestore,
  Auth, Cloud Tasks, publisher (per topic), invoker and deployer roles exactly where the code needs
  them; per function its one role on the artifacts bucket and whether it signs URLs; the names the deployment stage uses (Artifact Registry repo, Cloud SQL instance, source
  bucket);
- no placeholders left (PROJECT_NUMBER, SUBSCRIPTION_OF_, WATCHDOG_URL, ...).
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
TF_DIR = ROOT / "infra" / "terraform"
PRIMITIVE = re.compile(r"\broles/(owner|editor|viewer)\b")
PLACEHOLDER = re.compile(r"PROJECT_NUMBER|SUBSCRIPTION_OF_|WATCHDOG_URL|REPLACE_ME|changeme|<[A-Z_]+>")
AUTH_ADMIN_CALLS = {"create_user", "update_user", "delete_user", "set_custom_user_claims", "revoke_refresh_tokens",
                    "import_users", "generate_password_reset_link", "generate_email_verification_link"}
AUTH_READ_CALLS = {"get_user", "get_user_by_email", "get_users", "list_users"}
# The deployment stage submits builds (cloud_run mode); build_events, fed by Cloud Build's `cloud-builds` topic,
# creates the app's Cloud Run service and makes it public (decision 0040).
DEPLOYER_ROLES = {"roles/cloudbuild.builds.editor"}
SERVICE_DEPLOYER_ROLES = {"roles/run.admin"}
# Granted per resource (topic, secret, service, service account) in iam.tf, never project-wide.
RESOURCE_ONLY_ROLES = {"roles/pubsub.publisher", "roles/secretmanager.secretAccessor", "roles/run.invoker",
                       "roles/iam.serviceAccountUser", "roles/iam.serviceAccountTokenCreator",
                       "roles/storage.objectUser", "roles/storage.objectViewer", "roles/storage.objectAdmin"}
# The one role on the artifacts bucket a function needs (shared/artifact_store.py): writers also read
# (earlier stages' artifacts) and delete (a discarded commit's uploads); readers only read.
ARTIFACT_WRITER, ARTIFACT_READER = "roles/storage.objectUser", "roles/storage.objectViewer"


# ------------------------------------------------------------------------------------ HCL


def _clean(v):
    """python-hcl2 keeps string literals quoted ('"x"') and expressions as '${...}': unquote literals."""
    if isinstance(v, dict):
        return {_clean_key(k): _clean(x) for k, x in v.items() if k != "__is_block__"}
    if isinstance(v, list):
        return [_clean(x) for x in v]
    if isinstance(v, str) and len(v) >= 2 and v[0] == '"' and v[-1] == '"':
        return v[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if v == "${null}" or v == "null":
        return None
    return v


def _clean_key(k: str) -> str:
    return k[1:-1] if len(k) >= 2 and k[0] == '"' and k[-1] == '"' else k


@dataclass
class Terraform:
    locals: dict = field(default_factory=dict)
    resources: dict = field(default_factory=dict)  # type -> name -> body
    data: dict = field(default_factory=dict)
    raw_text: str = ""

    def resource(self, rtype: str, name: str) -> dict:
        return self.resources.get(rtype, {}).get(name, {})


def load(tf_dir: Path = TF_DIR) -> Terraform:
    import hcl2

    out = Terraform()
    texts = []
    for path in sorted(Path(tf_dir).glob("*.tf")):
        text = path.read_text()
        texts.append(text)
        doc = _clean(hcl2.loads(text))
        for block in doc.get("locals", []):
            out.locals.update(block)
        for kind, target in (("resource", out.resources), ("data", out.data)):
            for block in doc.get(kind, []):
                for rtype, named in block.items():
                    for name, body in named.items():
                        target.setdefault(rtype, {})[name] = body
    out.raw_text = "\n".join(texts)
    return out


def _first(block):
    """A nested block as python-hcl2 gives it (a list of one dict), or {}."""
    if isinstance(block, list):
        return block[0] if block else {}
    return block or {}


def _norm(expr) -> str:
    return re.sub(r"\s+", "", str(expr))


# ------------------------------------------------------------------------------------ code


@dataclass
class FunctionNeeds:
    name: str
    service_id: str
    entry_point: str
    trigger: str  # "http" or the topic whose push subscription feeds it
    public: bool
    memory: str
    timeout_s: int
    topology_env: dict[str, str]
    env: set[str]  # plain variables the code reads (local-only and secrets excluded), plus topology env
    secrets: set[str]
    publishes: set[str]
    enqueues: bool
    firestore: bool
    auth_admin: bool
    auth_read: bool
    deployer: bool
    serves_apps: bool  # creates generated apps' Cloud Run services (the cloud-builds subscriber)
    artifacts_role: str | None  # on the artifacts bucket
    signs_urls: bool  # signs artifact download URLs as itself (IAM signBlob)
    invokers: set[str]
    callers: list[str]


@dataclass
class Code:
    functions: dict[str, FunctionNeeds]
    topics: list[str]
    dead_letter_topic: str
    subscriptions: dict[str, dict]
    queue: str
    schedules: dict[str, dict]
    artifact_registry_repo: str
    cloud_sql_instance: str


def code_model(topology=None) -> Code:
    """What the code declares and needs. `topology` defaults to shared.topology; tests pass a copy."""
    from infra import reads
    from shared import settings as settings_mod
    from shared.engine.types import EngineConfig

    if topology is None:
        from shared import topology
    # The topics the outbox publishes to: all but the dead-letter topic and Cloud Build's own.
    stage_topics = [t for t in topology.topics()
                    if t not in (topology.DEAD_LETTER_TOPIC, topology.CLOUD_BUILDS_TOPIC)]
    local_only = set(settings_mod.LOCAL_ONLY_VARS)
    secret_envs = {reads.env_name(f) for f in reads.secret_fields()}
    subs = list(topology.subscriptions())
    push_targets = {s.push_function for s in subs}
    schedule_targets = {j.function for j in topology.SCHEDULES}
    analyses = reads.analyse(topology.FUNCTIONS)
    task_targets: set[str] = set()
    for a in analyses.values():
        task_targets |= _task_targets(a)
    functions = {}
    for fn in topology.FUNCTIONS:
        a = analyses[fn.name]
        envs = {reads.env_name(f) for f in a.fields} - local_only
        publishes = _published_topics(a, stage_topics, topology.DEAD_LETTER_TOPIC)
        enqueues = a.reaches("shared.dispatch", "arm_watchdog")
        auth_calls = _auth_calls(a)
        public = fn.public and fn.signature == "http"  # a push-fed function has no front-door route
        invokers = set()
        if public:
            invokers.add("allUsers")
        if fn.name in push_targets:
            invokers.add("push")
        if fn.name in schedule_targets | task_targets:
            invokers.add("invoker")
        callers = (["invoker"] if enqueues or fn.name in schedule_targets | task_targets else []) + (
            ["push"] if fn.name in push_targets else [])
        writes = any(a.reaches("shared.artifact_store", u) for u in ("put", "discard"))
        reads_artifacts = any(a.reaches("shared.artifact_store", u) for u in ("read", "signed_url"))
        functions[fn.name] = FunctionNeeds(
            name=fn.name, service_id=fn.service_id, entry_point=fn.target,
            trigger="http" if fn.signature == "http" else str(fn.topic), public=public, memory=fn.memory,
            timeout_s=fn.timeout_s, topology_env=dict(fn.env),
            env=(envs - secret_envs) | set(fn.env), secrets=envs & secret_envs, publishes=publishes,
            enqueues=enqueues, firestore=a.reaches("shared.clients", "firestore"),
            auth_admin=bool(auth_calls & AUTH_ADMIN_CALLS), auth_read=bool(auth_calls & AUTH_READ_CALLS),
            deployer=fn.env.get("STAGE") == "deployment", invokers=invokers, callers=callers,
            serves_apps=bool(fn.topic) and fn.topic == topology.CLOUD_BUILDS_TOPIC,
            artifacts_role=ARTIFACT_WRITER if writes else (ARTIFACT_READER if reads_artifacts else None),
            signs_urls=a.reaches("shared.artifact_store", "signed_url"),
        )
    return Code(
        functions=functions, topics=list(topology.topics()), dead_letter_topic=topology.DEAD_LETTER_TOPIC,
        subscriptions={s.name: {"topic": s.topic, "function": s.push_function,
                                "ack_deadline_s": min(s.ack_deadline_s, 600), "min_backoff_s": s.min_backoff_s,
                                "max_backoff_s": s.max_backoff_s, "dead_letter_topic": s.dead_letter_topic,
                                "max_delivery_attempts": s.max_delivery_attempts if s.dead_letter_topic else None}
                       for s in subs},
        queue=topology.WATCHDOG_QUEUE,
        schedules={j.name: {"cron": j.cron, "function": j.function, "path": j.path} for j in topology.SCHEDULES},
        artifact_registry_repo=EngineConfig.artifact_registry_repo,
        cloud_sql_instance=EngineConfig.cloud_sql_instance,
    )


def _calls(a):
    return a.calls


def _published_topics(a, stage_topics: list[str], dead_letter: str) -> set[str]:
    """Topics the reached code publishes to: dispatch.publish(topology.DEAD_LETTER_TOPIC, ...) the
    dead-letter topic; any other publish (outbox, sweep) a stage topic."""
    out: set[str] = set()
    for module, call in _calls(a):
        f = call.func
        is_publish = (isinstance(f, ast.Attribute) and f.attr == "publish" and isinstance(f.value, ast.Name)
                      and f.value.id == "dispatch") or (
            module == "shared.dispatch" and isinstance(f, ast.Name) and f.id == "publish")
        if not is_publish or not call.args:
            continue
        if ast.unparse(call.args[0]) == "topology.DEAD_LETTER_TOPIC":
            out.add(dead_letter)
        else:
            out |= set(stage_topics)
    return out


def _task_targets(a) -> set[str]:
    """Functions the reached code sends Cloud Tasks to (`s.function_url("watchdog")` in dispatch)."""
    return {call.args[0].value for module, call in _calls(a)
            if module == "shared.dispatch" and isinstance(call.func, ast.Attribute)
            and call.func.attr == "function_url" and call.args and isinstance(call.args[0], ast.Constant)}


def _auth_calls(a) -> set[str]:
    return {call.func.attr for _, call in _calls(a)
            if isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name)
            and call.func.value.id == "fb_auth"}


# ------------------------------------------------------------------------------------ compare


def _both_ways(out: list[str], what: str, code: set, tf: set, where: str = "") -> None:
    suffix = f" {where}" if where else ""
    for x in sorted(code - tf, key=str):
        out.append(f"the code declares {what} {x}{suffix}, which Terraform lacks")
    for x in sorted(tf - code, key=str):
        out.append(f"Terraform declares {what} {x}{suffix}, which the code does not")


def _same_table(out: list[str], what: str, code: dict[str, dict], tf: dict[str, dict], row: str = "") -> None:
    """The same names both ways, and for each name the code's values in Terraform's row (named `row`, else
    `what`, in the problems)."""
    _both_ways(out, what, set(code), set(tf))
    for name in sorted(set(code) & set(tf)):
        for key, want in code[name].items():
            if tf[name].get(key) != want:
                out.append(f"{row or what} {name}: Terraform has {key} = {tf[name].get(key)!r}, the code {want!r}")


def check(tf: Terraform, code: Code) -> list[str]:
    """Every mismatch between the Terraform and the code, as a sentence; [] when they agree."""
    out: list[str] = []
    L = tf.locals
    tf_fns: dict = L.get("functions") or {}
    settings_env: dict = L.get("settings_env") or {}
    secrets: dict = L.get("secrets") or {}

    # Functions.
    _both_ways(out, "function", set(code.functions), set(tf_fns))
    for name in sorted(set(code.functions) & set(tf_fns)):
        need, got = code.functions[name], tf_fns[name]
        for key, want in (("service_id", need.service_id), ("entry_point", need.entry_point),
                          ("trigger", need.trigger), ("public", need.public), ("memory", need.memory),
                          ("timeout_s", need.timeout_s)):
            if got.get(key) != want:
                out.append(f"function {name}: Terraform has {key} = {got.get(key)!r}, the code {want!r}")

        # Environment: exactly what the code reads.
        env_list = list(got.get("env") or [])
        env_values = dict(got.get("env_values") or {})
        set_env = set(env_list) | set(env_values) | ({"SERVICE_ACCOUNTS"} if got.get("callers") else set())
        _both_ways(out, "environment variable", need.env, set_env, f"for function {name}")
        for var in env_list:
            if var not in settings_env:
                out.append(f"function {name} lists {var}, which local.settings_env does not define")
        for var, value in need.topology_env.items():
            if var in env_values and str(env_values[var]) != value:
                out.append(f"function {name}: Terraform sets {var}={env_values[var]!r}, shared/topology.py {value!r}")
        _both_ways(out, "secret", need.secrets, set(got.get("secrets") or []), f"read by function {name}")
        for var in set(env_list) | set(env_values):
            if var in secrets:
                out.append(f"function {name} sets secret {var} as a plain environment variable")

        # Identity and roles.
        roles = set(got.get("roles") or [])
        expected_roles = set()
        if need.firestore:
            expected_roles.add("roles/datastore.user")
        if need.enqueues:
            expected_roles.add("roles/cloudtasks.enqueuer")
        if need.auth_admin:
            expected_roles.add("roles/firebaseauth.admin")
        elif need.auth_read:
            expected_roles.add("roles/firebaseauth.viewer")
        if need.deployer:
            expected_roles |= DEPLOYER_ROLES
        if need.serves_apps:
            expected_roles |= SERVICE_DEPLOYER_ROLES
        _both_ways(out, "project role", expected_roles, roles, f"for function {name}")
        _both_ways(out, "publisher role on topic", need.publishes, set(got.get("publishes") or []),
                   f"for function {name}")
        if bool(got.get("enqueues")) != need.enqueues:
            out.append(f"function {name}: Terraform has enqueues = {got.get('enqueues')}, the code "
                       f"{'arms' if need.enqueues else 'never arms'} a watchdog deadline")
        if got.get("artifacts_role") != need.artifacts_role:
            out.append(f"function {name}: Terraform gives artifacts_role = {got.get('artifacts_role')!r} on the "
                       f"artifacts bucket, the code needs {need.artifacts_role!r}")
        if bool(got.get("signs_urls")) != need.signs_urls:
            out.append(f"function {name}: Terraform has signs_urls = {got.get('signs_urls')}, the code "
                       f"{'signs' if need.signs_urls else 'never signs'} artifact download URLs")
        _both_ways(out, "run.invoker member", need.invokers, set(got.get("invokers") or []), f"on function {name}")
        if list(got.get("callers") or []) != need.callers:
            out.append(f"function {name}: Terraform accepts callers {got.get('callers')}, the code needs "
                       f"{need.callers} (SERVICE_ACCOUNTS; the first is the identity of its watchdog tasks)")

    for var in settings_env:
        if var in _local_only():
            out.append(f"local.settings_env sets {var}, a local-only setting that production must not have")
    used_secrets = set().union(*(n.secrets for n in code.functions.values())) if code.functions else set()
    _both_ways(out, "Secret Manager secret for", used_secrets, set(secrets))

    # Every setting's value: no placeholders; the URL template is the one the push audience uses.
    template = str(L.get("function_url_template", ""))
    if "{service}" not in template:
        out.append("local.function_url_template has no {service}: shared.settings.function_url cannot name a function")
    if _norm(settings_env.get("FUNCTION_URL_TEMPLATE")) != "${local.function_url_template}":
        out.append("FUNCTION_URL_TEMPLATE is not local.function_url_template: the code would check another audience")
    if "local.function_url_template" not in _norm(L.get("function_urls")) or "fn.service_id" not in _norm(
            L.get("function_urls")):
        out.append("local.function_urls is not derived from local.function_url_template and each service id")

    # Topics and subscriptions.
    _both_ways(out, "topic", set(code.topics), set(L.get("topics") or []))
    if L.get("dead_letter_topic") != code.dead_letter_topic:
        out.append(f"the dead-letter topic is {L.get('dead_letter_topic')!r} in Terraform, {code.dead_letter_topic!r} in the code")
    _same_table(out, "push subscription", code.subscriptions, L.get("subscriptions") or {}, row="subscription")
    sub = tf.resource("google_pubsub_subscription", "push")
    push = _first(sub.get("push_config"))
    oidc = _first(push.get("oidc_token"))
    if _norm(sub.get("for_each")) != "${local.subscriptions}":
        out.append("google_pubsub_subscription.push is not made for each of local.subscriptions")
    if _norm(oidc.get("audience")) != "${local.function_urls[each.value.function]}":
        out.append("a push subscription's OIDC audience is not its function's URL (local.function_urls)")
    if "google_cloudfunctions2_function.fn[each.value.function].service_config[0].uri" not in _norm(
            push.get("push_endpoint")):
        out.append("a push subscription's endpoint is not its function resource's URI")
    if _norm(oidc.get("service_account_email")) != "${google_service_account.push.email}":
        out.append("pushes do not carry the push identity's token")
    if not any("dead_letter_policy" in d for d in sub.get("dynamic", [])):
        out.append("push subscriptions have no dead-letter policy")
    if not sub.get("retry_policy"):
        out.append("push subscriptions have no retry policy")

    # Queue and schedules.
    if L.get("watchdog_queue") != code.queue:
        out.append(f"the Cloud Tasks queue is {L.get('watchdog_queue')!r} in Terraform, {code.queue!r} in the code")
    if _norm(tf.resource("google_cloud_tasks_queue", "watchdog").get("name")) != "${local.watchdog_queue}":
        out.append("google_cloud_tasks_queue.watchdog is not named local.watchdog_queue")
    _same_table(out, "scheduler job", code.schedules, L.get("schedules") or {})
    job = tf.resource("google_cloud_scheduler_job", "job")
    target = _first(job.get("http_target"))
    want_uri = "${local.function_urls[each.value.function]}${each.value.path}"
    if _norm(target.get("uri")) != want_uri or _norm(_first(target.get("oidc_token")).get("audience")) != want_uri:
        out.append("scheduler jobs do not call (and name as audience) their function's URL plus path")

    # The function resource consumes the tables as intended.
    fn_res = tf.resource("google_cloudfunctions2_function", "fn")
    svc = _first(fn_res.get("service_config"))
    env_expr = _norm(svc.get("environment_variables"))
    for piece in ("local.settings_env[name]", "each.value.env_values", "local.callers[c]"):
        if piece not in env_expr:
            out.append(f"the functions' environment_variables do not use {piece}")
    if _norm(svc.get("service_account_email")) != "${google_service_account.fn[each.key].email}":
        out.append("a function does not run as its own service account")
    if not any("secret_environment_variables" in d for d in svc.get("dynamic", [])):
        out.append("functions mount no secrets from local.functions[*].secrets")
    sa = tf.resource("google_service_account", "fn")
    if _norm(sa.get("for_each")) != "${local.functions}" or "each.value.service_id" not in _norm(sa.get("account_id")):
        out.append("there is not one service account per function (google_service_account.fn)")
    ids = [f"fn-{f.get('service_id')}" for f in tf_fns.values()]
    if len(set(ids)) != len(ids):
        out.append("two functions share a service account id")
    for i in ids:
        if len(i) > 30:
            out.append(f"service account id {i} is longer than 30 characters")
    # Artifacts: the bucket the code is told is the artifacts bucket; each function's role granted on it.
    if _norm(settings_env.get("ARTIFACTS_BUCKET")) != "${google_storage_bucket.artifacts.name}":
        out.append("ARTIFACTS_BUCKET is not google_storage_bucket.artifacts.name")
    art = tf.resource("google_storage_bucket_iam_member", "artifacts")
    if "fn.artifacts_role" not in _norm(art.get("for_each")) or _norm(art.get("role")) != "${each.value.artifacts_role}" \
            or _norm(art.get("bucket")) != "${google_storage_bucket.artifacts.name}":
        out.append("the artifacts bucket roles are not granted per function (local.functions[*].artifacts_role)")
    signer = tf.resource("google_service_account_iam_member", "signs_urls_as_itself")
    if "fn.signs_urls" not in _norm(signer.get("for_each")) or _norm(signer.get("service_account_id")) != \
            "${google_service_account.fn[each.key].name}" or signer.get("role") != "roles/iam.serviceAccountTokenCreator":
        out.append("functions that sign artifact URLs are not token creators on their own service account")
    accessor = tf.resource("google_secret_manager_secret_iam_member", "accessor")
    if _norm(accessor.get("for_each")) != "${local.function_secrets}":
        out.append("secret accessors are not granted per function and secret read (local.function_secrets)")

    # Roles: none primitive; resource-level roles are not granted project-wide.
    for m in sorted(set(PRIMITIVE.findall(tf.raw_text))):
        out.append(f"Terraform grants the primitive role roles/{m}")
    for name, f in sorted(tf_fns.items()):
        for role in sorted(set(f.get("roles") or []) & RESOURCE_ONLY_ROLES):
            out.append(f"function {name} gets {role} project-wide; grant it on the resource")
    for rname, body in (tf.resources.get("google_project_iam_member") or {}).items():
        role = str(body.get("role"))
        if role in RESOURCE_ONLY_ROLES and "condition" not in body:
            out.append(f"google_project_iam_member.{rname} grants {role} project-wide without a condition")

    # Names the deployment stage uses.
    repo = tf.resource("google_artifact_registry_repository", "apps").get("repository_id")
    if repo != code.artifact_registry_repo:
        out.append(f"Artifact Registry repository {repo!r} is not the deployment stage's {code.artifact_registry_repo!r}")
    sql = tf.resource("google_sql_database_instance", "apps").get("name")
    if sql != code.cloud_sql_instance:
        out.append(f"Cloud SQL instance {sql!r} is not the deployment stage's {code.cloud_sql_instance!r}")
    if _norm(tf.resource("google_storage_bucket", "cloudbuild").get("name")) != "${var.project}_cloudbuild":
        out.append("the build source bucket is not <project>_cloudbuild, where the deployment stage uploads")

    # Firestore reads the repository's own rules and indexes.
    if "firestore.rules" not in tf.raw_text or "firestore.indexes.json" not in tf.raw_text:
        out.append("Firestore rules or indexes are not read from firestore.rules / firestore.indexes.json")

    for m in sorted(set(PLACEHOLDER.findall(tf.raw_text))):
        out.append(f"Terraform still contains the placeholder {m}")
    return out


def _local_only() -> set[str]:
    from shared.settings import LOCAL_ONLY_VARS

    return set(LOCAL_ONLY_VARS)


def copy_of_topology():
    """A mutable stand-in for shared.topology (tests rename things in it)."""
    from shared import topology

    return SimpleNamespace(FUNCTIONS=tuple(topology.FUNCTIONS), SCHEDULES=tuple(topology.SCHEDULES),
                           WATCHDOG_QUEUE=topology.WATCHDOG_QUEUE, DEAD_LETTER_TOPIC=topology.DEAD_LETTER_TOPIC,
                           CLOUD_BUILDS_TOPIC=topology.CLOUD_BUILDS_TOPIC, topics=topology.topics, subscriptions=topology.subscriptions)


def main(argv: list[str]) -> int:
    tf_dir = Path(argv[0]) if argv else TF_DIR
    problems = check(load(tf_dir), code_model())
    for p in problems:
        print(p)
    if not problems:
        print(f"{tf_dir}: consistent with shared/topology.py, shared/settings.py and the code")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main(sys.argv[1:]))
