# Identities and roles. Every function runs as its own service account with only the roles its
# code needs (the tables in topology.tf); no primitive roles anywhere.

resource "google_service_account" "fn" {
  for_each     = local.functions
  account_id   = "fn-${each.value.service_id}"
  display_name = "SaaS Factory function ${each.key}"
}

# Pub/Sub pushes to the stage and dead-letter functions with OIDC tokens of this account.
resource "google_service_account" "push" {
  account_id   = "pubsub-push"
  display_name = "SaaS Factory Pub/Sub push identity"
}

# Cloud Tasks (stage deadlines) and Cloud Scheduler (sweep, reconcile) call the watchdog as this account.
resource "google_service_account" "invoker" {
  account_id   = "watchdog-invoker"
  display_name = "SaaS Factory Cloud Tasks and Scheduler identity"
}

# The generated apps' runtime identity (Cloud SQL client, their own secrets).
resource "google_service_account" "app_runtime" {
  account_id   = "generated-apps"
  display_name = "SaaS Factory generated apps"
}

locals {
  function_roles = merge([
    for name, fn in local.functions : { for role in fn.roles : "${name} ${role}" => { function = name, role = role } }
  ]...)
  function_secrets = merge([
    for name, fn in local.functions : { for env in fn.secrets : "${name} ${env}" => { function = name, env = env } }
  ]...)
  function_topics = merge([
    for name, fn in local.functions : { for topic in fn.publishes : "${name} ${topic}" => { function = name, topic = topic } }
  ]...)
  function_invokers = merge([
    for name, fn in local.functions : { for who in fn.invokers : "${name} ${who}" => { function = name, member = who } }
  ]...)
  invoker_members = {
    allUsers = "allUsers"
    push     = "serviceAccount:${google_service_account.push.email}"
    invoker  = "serviceAccount:${google_service_account.invoker.email}"
  }
  pubsub_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_project_iam_member" "fn" {
  for_each = local.function_roles
  project  = var.project
  role     = each.value.role
  member   = "serviceAccount:${google_service_account.fn[each.value.function].email}"
}

# Publisher on the topics a function publishes to, not on the project.
resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = local.function_topics
  topic    = google_pubsub_topic.topic[each.value.topic].name
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${google_service_account.fn[each.value.function].email}"
}

# Secret accessor on the secrets a function reads, nothing else.
resource "google_secret_manager_secret_iam_member" "accessor" {
  for_each  = local.function_secrets
  secret_id = google_secret_manager_secret.secret[each.value.env].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.fn[each.value.function].email}"
}

# Run artifacts: each function's one role on the artifacts bucket (local.functions[*].artifacts_role), never
# project-wide. Stages read, write and delete (objectUser); so does the factory API (approving a reviewed plan
# stores the approved spec as the next revision).
resource "google_storage_bucket_iam_member" "artifacts" {
  for_each = { for name, fn in local.functions : name => fn if fn.artifacts_role != null }
  bucket   = google_storage_bucket.artifacts.name
  role     = each.value.artifacts_role
  member   = "serviceAccount:${google_service_account.fn[each.key].email}"
}

# Signed download URLs: Cloud Run credentials hold no private key, so the factory signs through IAM
# signBlob as its own service account (shared/artifact_store.signed_url), which needs token creator on itself.
resource "google_service_account_iam_member" "signs_urls_as_itself" {
  for_each           = { for name, fn in local.functions : name => fn if fn.signs_urls }
  service_account_id = google_service_account.fn[each.key].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:${google_service_account.fn[each.key].email}"
}

# Functions that arm a watchdog deadline create tasks whose OIDC token is the invoker's: they may act as it.
resource "google_service_account_iam_member" "enqueuer_acts_as_invoker" {
  for_each           = { for name, fn in local.functions : name => fn if fn.enqueues }
  service_account_id = google_service_account.invoker.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.fn[each.key].email}"
}

# run.invoker on each function's own Cloud Run service, for exactly its callers: everyone for the
# public functions behind Hosting (they check Firebase ID tokens themselves), the push identity for
# the push-fed ones, the Tasks/Scheduler identity for the watchdog.
resource "google_cloud_run_v2_service_iam_member" "invoker" {
  for_each = local.function_invokers
  project  = var.project
  location = var.region
  name     = google_cloudfunctions2_function.fn[each.value.function].service_config[0].service
  role     = "roles/run.invoker"
  member   = local.invoker_members[each.value.member]
}

# Pub/Sub mints the push OIDC tokens, moves undeliverable messages to the dead-letter topic and
# acknowledges them on the source subscription.
resource "google_service_account_iam_member" "pubsub_mints_push_tokens" {
  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}

resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  topic  = google_pubsub_topic.topic[local.dead_letter_topic].name
  role   = "roles/pubsub.publisher"
  member = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each     = { for name, s in local.subscriptions : name => s if s.dead_letter_topic != null }
  subscription = google_pubsub_subscription.push[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

# ----------------------------------------------------------------- the deployment stage as deployer
# Beyond its project role (Cloud Build editor: submit builds), the deployment stage uploads sources,
# pushes images and stores the apps' secrets. build_events (Run admin: create services and make them
# public) runs the apps as their own identity.

resource "google_storage_bucket_iam_member" "deployer_sources" {
  bucket = google_storage_bucket.cloudbuild.name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.fn["stage_deployment"].email}"
}

resource "google_artifact_registry_repository_iam_member" "deployer_images" {
  location   = google_artifact_registry_repository.apps.location
  repository = google_artifact_registry_repository.apps.name
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.fn["stage_deployment"].email}"
}

# build_events creates the apps' Cloud Run services (decision 0040), so it is the one that acts as their identity.
resource "google_service_account_iam_member" "deployer_acts_as_app_runtime" {
  service_account_id = google_service_account.app_runtime.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.fn["build_events"].email}"
}

# Generated apps' secrets (<service>-secret-key, ...) are created by the stage; the factory's own
# secrets (factory_*) stay out of its reach.
resource "google_project_iam_member" "deployer_app_secrets" {
  project = var.project
  role    = "roles/secretmanager.admin"
  member  = "serviceAccount:${google_service_account.fn["stage_deployment"].email}"
  condition {
    title      = "not-the-factory-secrets"
    expression = "!resource.name.startsWith(\"projects/${data.google_project.this.number}/secrets/factory_\")"
  }
}

# What a generated app itself may do: reach its database, read its own secrets.
resource "google_project_iam_member" "app_runtime_sql" {
  project = var.project
  role    = "roles/cloudsql.client"
  member  = "serviceAccount:${google_service_account.app_runtime.email}"
}

resource "google_project_iam_member" "app_runtime_secrets" {
  project = var.project
  role    = "roles/secretmanager.secretAccessor"
  member  = "serviceAccount:${google_service_account.app_runtime.email}"
  condition {
    title      = "not-the-factory-secrets"
    expression = "!resource.name.startsWith(\"projects/${data.google_project.this.number}/secrets/factory_\")"
  }
}
