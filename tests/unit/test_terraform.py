"""infra/terraform/ against the code, both ways (infra/terraform_check.py), and that a mismatch fails."""

import copy
import dataclasses

import pytest

from infra import reads, terraform_check
from shared import topology


@pytest.fixture(scope="module")
def tf():
    return terraform_check.load()


@pytest.fixture(scope="module")
def code():
    return terraform_check.code_model()


def problems_with(tf, code, change=None):
    tf = copy.deepcopy(tf)
    if change:
        change(tf)
    return terraform_check.check(tf, code)


def test_terraform_matches_the_code(tf, code):
    assert terraform_check.check(tf, code) == []


def test_cli_prints_each_mismatch_and_fails(tf, monkeypatch, capsys):
    assert terraform_check.main([]) == 0
    assert "consistent" in capsys.readouterr().out
    broken = copy.deepcopy(tf)
    broken.locals["topics"].remove("stage-qa")
    monkeypatch.setattr(terraform_check, "load", lambda _dir: broken)
    assert terraform_check.main([]) == 1
    assert capsys.readouterr().out == "the code declares topic stage-qa, which Terraform lacks\n"


def test_a_function_renamed_in_the_topology_fails_the_check(tf):
    copy_ = terraform_check.copy_of_topology()
    copy_.FUNCTIONS = tuple(dataclasses.replace(f, name="signup_v2") if f.name == "signup" else f
                            for f in copy_.FUNCTIONS)
    problems = terraform_check.check(tf, terraform_check.code_model(copy_))
    assert "the code declares function signup_v2, which Terraform lacks" in problems
    assert "Terraform declares function signup, which the code does not" in problems


def test_a_topic_or_schedule_changed_in_the_topology_fails_the_check(tf):
    copy_ = terraform_check.copy_of_topology()
    copy_.SCHEDULES = (*copy_.SCHEDULES, topology.Schedule("nightly-report", "0 3 * * *", "watchdog", "/report"))
    copy_.WATCHDOG_QUEUE = "stage-deadlines"
    problems = terraform_check.check(tf, terraform_check.code_model(copy_))
    assert "the code declares scheduler job nightly-report, which Terraform lacks" in problems
    assert any("Cloud Tasks queue" in p for p in problems)


def test_an_env_var_removed_from_the_hcl_fails_the_check(tf, code):
    def drop(t):
        t.locals["functions"]["billing"]["env"].remove("PUBLIC_BASE_URL")

    assert problems_with(tf, code, drop) == [
        "the code declares environment variable PUBLIC_BASE_URL for function billing, which Terraform lacks"]


def test_an_env_var_the_code_does_not_read_fails_the_check(tf, code):
    def add(t):
        t.locals["functions"]["signup"]["env"].append("STAGE_DEADLINE_S")
        t.locals["settings_env"]["FIRESTORE_EMULATOR_HOST"] = "127.0.0.1:8080"

    problems = problems_with(tf, code, add)
    assert ("Terraform declares environment variable STAGE_DEADLINE_S for function signup, which the code does not"
            in problems)
    assert any("FIRESTORE_EMULATOR_HOST, a local-only setting" in p for p in problems)


def test_topology_env_values_are_checked(tf, code):
    def change(t):
        t.locals["functions"]["stage_qa"]["env_values"]["STAGE"] = "development"

    assert problems_with(tf, code, change) == [
        "function stage_qa: Terraform sets STAGE='development', shared/topology.py 'qa'"]


def test_stripe_secrets_are_read_only_by_billing_and_the_webhook(code):
    readers = {name for name, f in code.functions.items() if "STRIPE_SECRET_KEY" in f.secrets}
    assert readers == {"billing", "stripe_webhook"}
    assert {name for name, f in code.functions.items() if "STRIPE_WEBHOOK_SECRET" in f.secrets} == {"stripe_webhook"}


def test_a_secret_mounted_where_it_is_not_read_fails_the_check(tf, code):
    def mount(t):
        t.locals["functions"]["stage_qa"]["secrets"].append("STRIPE_SECRET_KEY")
        t.locals["functions"]["billing"]["secrets"].remove("STRIPE_SECRET_KEY")

    problems = problems_with(tf, code, mount)
    assert "Terraform declares secret STRIPE_SECRET_KEY read by function stage_qa, which the code does not" in problems
    assert "the code declares secret STRIPE_SECRET_KEY read by function billing, which Terraform lacks" in problems


def test_a_push_audience_other_than_the_function_url_fails_the_check(tf, code):
    def template(t):
        push = t.resources["google_pubsub_subscription"]["push"]["push_config"][0]
        push["oidc_token"][0]["audience"] = "https://{service}-PROJECT_NUMBER.us-central1.run.app"

    problems = problems_with(tf, code, template)
    assert "a push subscription's OIDC audience is not its function's URL (local.function_urls)" in problems


def test_a_subscription_without_its_dead_letter_policy_fails_the_check(tf, code):
    def drop(t):
        t.locals["subscriptions"]["stage-qa-push"]["dead_letter_topic"] = None

    assert problems_with(tf, code, drop) == [
        "subscription stage-qa-push: Terraform has dead_letter_topic = None, the code 'factory-dead-letter'"]


def test_roles_follow_the_code(tf, code):
    def change(t):
        fns = t.locals["functions"]
        fns["signup"]["roles"].append("roles/editor")
        fns["accounts"]["roles"].append("roles/pubsub.publisher")
        fns["dead_letter"]["roles"].remove("roles/datastore.user")
        fns["watchdog"]["publishes"].append("factory-dead-letter")
        fns["watchdog"]["invokers"].append("allUsers")

    problems = problems_with(tf, code, change)
    assert "Terraform grants the primitive role roles/editor" not in problems  # only in the parsed table
    assert "Terraform declares project role roles/editor for function signup, which the code does not" in problems
    assert "function accounts gets roles/pubsub.publisher project-wide; grant it on the resource" in problems
    assert "the code declares project role roles/datastore.user for function dead_letter, which Terraform lacks" in problems
    assert ("Terraform declares publisher role on topic factory-dead-letter for function watchdog, which the code "
            "does not") in problems
    assert "Terraform declares run.invoker member allUsers on function watchdog, which the code does not" in problems


def test_artifact_bucket_roles_follow_the_code_both_ways(tf, code):
    assert code.functions["stage_development"].artifacts_role == "roles/storage.objectUser"
    assert code.functions["factory"].artifacts_role == "roles/storage.objectUser"  # approving a plan stores a spec
    assert code.functions["factory"].signs_urls and not code.functions["stage_qa"].signs_urls
    assert code.functions["signup"].artifacts_role is None

    def change(t):
        fns = t.locals["functions"]
        fns["signup"]["artifacts_role"] = "roles/storage.objectViewer"  # reads no artifacts
        fns["stage_qa"]["artifacts_role"] = None  # writes them
        fns["factory"]["signs_urls"] = False  # signs download URLs
        fns["accounts"]["roles"].append("roles/storage.objectUser")  # a bucket role, granted project-wide
        t.locals["settings_env"]["ARTIFACTS_BUCKET"] = "${google_storage_bucket.function_sources.name}"
        t.resources["google_storage_bucket_iam_member"]["artifacts"]["role"] = "roles/storage.objectAdmin"

    problems = problems_with(tf, code, change)
    assert ("function signup: Terraform gives artifacts_role = 'roles/storage.objectViewer' on the artifacts bucket, "
            "the code needs None") in problems
    assert ("function stage_qa: Terraform gives artifacts_role = None on the artifacts bucket, the code needs "
            "'roles/storage.objectUser'") in problems
    assert "function factory: Terraform has signs_urls = False, the code signs artifact download URLs" in problems
    assert "function accounts gets roles/storage.objectUser project-wide; grant it on the resource" in problems
    assert "ARTIFACTS_BUCKET is not google_storage_bucket.artifacts.name" in problems
    assert "the artifacts bucket roles are not granted per function (local.functions[*].artifacts_role)" in problems


def test_primitive_roles_and_placeholders_anywhere_in_the_hcl_fail_the_check(tf, code):
    def add(t):
        t.raw_text += '\nresource "google_project_iam_member" "x" { role = "roles/owner" }\n# WATCHDOG_URL\n'

    problems = problems_with(tf, code, add)
    assert "Terraform grants the primitive role roles/owner" in problems
    assert "Terraform still contains the placeholder WATCHDOG_URL" in problems


def test_each_function_has_its_own_service_account(tf, code):
    def share(t):
        t.locals["functions"]["stage_qa"]["service_id"] = "stage-development"

    problems = problems_with(tf, code, share)
    assert "two functions share a service account id" in problems


def test_the_code_analysis_sees_what_each_function_reads():
    got = {name: {reads.env_name(f) for f in fields} for name, fields in reads.function_reads().items()}
    assert "PUBLIC_BASE_URL" in got["billing"] and "PUBLIC_BASE_URL" not in got["signup"]
    assert {"WATCHDOG_MAX_REDISPATCH", "STAGE_RUN_FLOOR_S"} <= got["watchdog"]
    assert "FUNCTION_URL_TEMPLATE" in got["stage_qa"] and "FUNCTION_URL_TEMPLATE" not in got["accounts"]
    assert "LLM_API_KEY" in got["stage_development"] and "LLM_API_KEY" not in got["ideas"]
    # the factory API loads the engine for plan review's spec check (decision 0037), and with it the engine's
    # settings: it is the one non-stage function that gets the LLM key (docs/DEPLOY.md notes it)
    assert not {"LLM_API_KEY", "STRIPE_SECRET_KEY"} & (got["signup"] | got["accounts"] | got["watchdog"])
    assert all({"FACTORY_ENV", "GOOGLE_CLOUD_PROJECT"} <= envs for envs in got.values())
