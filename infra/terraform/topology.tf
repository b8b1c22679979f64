# The production shape of shared/topology.py, one entry per function, topic, subscription, queue and
# schedule, and per function the settings (shared/settings.py) its code reads. The resources in the
# other files are generic over these tables. `python -m infra.terraform_check` (and
# tests/unit/test_terraform.py) compares every table here with the code, both ways.

locals {
  # Every Cloud Run service answers on https://<service>-<project number>.<region>.run.app, known before
  # the service exists. It is what FUNCTION_URL_TEMPLATE gives the code (shared.settings.function_url),
  # so the OIDC audience a push carries and the one shared/auth.py checks are the same string.
  # checks.tf verifies after apply that each function's Cloud Run service serves that URL.
  function_url_template = "https://{service}-${data.google_project.this.number}.${var.region}.run.app"
  function_urls = {
    for name, fn in local.functions : name => replace(local.function_url_template, "{service}", fn.service_id)
  }

  watchdog_queue    = "stage-watchdog"
  dead_letter_topic = "factory-dead-letter"
  topics = [
    "stage-idea-validation",
    "stage-tech-stack",
    "stage-uiux-design",
    "stage-development",
    "stage-qa",
    "stage-deployment",
    "factory-dead-letter",
    # Cloud Build publishes every build's status changes on the project's topic of exactly this name.
    "cloud-builds",
  ]

  # Production values of the settings the functions read; each function lists the ones it reads.
  settings_env = {
    FACTORY_ENV              = "production"
    GOOGLE_CLOUD_PROJECT     = var.project
    FUNCTION_REGION          = var.region
    TASKS_LOCATION           = var.region
    FUNCTION_URL_TEMPLATE    = local.function_url_template
    PUBLIC_BASE_URL          = google_firebase_hosting_site.site.default_url
    FIRESTORE_DEADLINE_S     = "3"
    STAGE_DEADLINE_S         = "180"
    STAGE_DEADLINE_FACTOR    = "3"
    STAGE_QUEUE_FLOOR_S      = "3"
    STAGE_RUN_FLOOR_S        = "30"
    STAGE_LIVENESS_WINDOW_S  = "30"
    STAGE_SLOTS              = "8"
    WATCHDOG_MAX_REDISPATCH  = "2"
    TASKS_DEADLINE_S         = "1.5"
    PUBLISH_TIMEOUT_S        = "5"
    QA_MAX_LOOPS             = "2"
    QA_TIMEOUT_S             = "60"
    DEFAULT_BUDGET_COMPUTE_S = "600"
    DEFAULT_BUDGET_TOKENS    = "200000"
    ENGINE_BY_STAGE          = var.engine_by_stage
    LLM_BASE_URL             = var.llm_base_url
    LLM_MODEL                = var.llm_model
    LLM_RESPONSE_FORMAT      = var.llm_response_format
    PREVIEW_TTL_S            = "900"
    # Run notifications (shared/notify.py): SendGrid, with its key in Secret Manager.
    MAIL_FROM      = var.mail_from
    MAIL_TIMEOUT_S = "5"
    # Run artifacts (shared/artifact_store.py): the bucket; the API answers downloads with V4 signed URLs.
    ARTIFACTS_BUCKET   = google_storage_bucket.artifacts.name
    ARTIFACT_DOWNLOAD  = "signed_url"
    ARTIFACT_URL_TTL_S = "300"
    # Cloud Run's file system is memory; /tmp is where a stage's scratch files belong.
    STATE_DIR = "/tmp/factory"
  }

  # Secret settings (SecretStr) -> Secret Manager secret id. The ids start with "factory_" (an
  # underscore, which generated apps' secret names never contain), so the deployment stage's
  # Secret Manager role can exclude them (iam.tf).
  secrets = {
    STRIPE_SECRET_KEY     = "factory_stripe_secret_key"
    STRIPE_WEBHOOK_SECRET = "factory_stripe_webhook_secret"
    LLM_API_KEY           = "factory_llm_api_key"
    SENDGRID_API_KEY      = "factory_sendgrid_api_key"
  }

  # Identities that call functions: Pub/Sub pushes as "push", Cloud Tasks and Cloud Scheduler as
  # "invoker" (iam.tf). A function's `callers` become its SERVICE_ACCOUNTS (the identities it accepts on
  # push and service routes); the first is also
  # the identity the function's Cloud Tasks deadlines carry (shared/dispatch.arm_watchdog).
  callers = {
    push    = google_service_account.push.email
    invoker = google_service_account.invoker.email
  }

  functions = {
    signup = {
      service_id  = "signup"
      entry_point = "signup"
      trigger     = "http"
      public      = true
      memory      = "512Mi"
      timeout_s   = 60
      env         = ["FACTORY_ENV", "GOOGLE_CLOUD_PROJECT", "FIRESTORE_DEADLINE_S"]
      env_values  = {}
      secrets     = []
      callers     = []
      invokers    = ["allUsers"]
      # Tenant and membership documents; creates users and sets their workspace claims.
      roles          = ["roles/datastore.user", "roles/firebaseauth.admin"]
      publishes      = []
      enqueues       = false
      artifacts_role = null
      signs_urls     = false
    }
    accounts = {
      service_id  = "accounts"
      entry_point = "accounts"
      trigger     = "http"
      public      = true
      memory      = "512Mi"
      timeout_s   = 60
      env         = ["FACTORY_ENV", "GOOGLE_CLOUD_PROJECT", "FIRESTORE_DEADLINE_S"]
      env_values  = {}
      secrets     = []
      callers     = []
      invokers    = ["allUsers"]
      # Membership; claims and session revocation.
      roles          = ["roles/datastore.user", "roles/firebaseauth.admin"]
      publishes      = []
      enqueues       = false
      artifacts_role = null
      signs_urls     = false
    }
    billing = {
      service_id  = "billing"
      entry_point = "billing"
      trigger     = "http"
      public      = true
      memory      = "512Mi"
      timeout_s   = 60
      env         = ["FACTORY_ENV", "GOOGLE_CLOUD_PROJECT", "FIRESTORE_DEADLINE_S", "PUBLIC_BASE_URL"]
      env_values  = {}
      secrets     = ["STRIPE_SECRET_KEY"]
      callers     = []
      invokers    = ["allUsers"]
      # Billing documents; reads Auth records (deleted, disabled, revoked accounts).
      roles          = ["roles/datastore.user", "roles/firebaseauth.viewer"]
      publishes      = []
      enqueues       = false
      artifacts_role = null
      signs_urls     = false
    }
    stripe_webhook = {
      service_id  = "stripe-webhook"
      entry_point = "stripe_webhook"
      trigger     = "http"
      public      = true
      memory      = "512Mi"
      timeout_s   = 60
      env         = ["FACTORY_ENV", "GOOGLE_CLOUD_PROJECT", "FIRESTORE_DEADLINE_S", "FUNCTION_URL_TEMPLATE"]
      env_values  = {}
      secrets     = ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"]
      # Cloud Scheduler's stripe-reconcile job calls POST /reconcile as "invoker" (its OIDC audience is this URL).
      callers  = ["invoker"]
      invokers = ["allUsers", "invoker"]
      # Entitlements and processed event ids.
      roles          = ["roles/datastore.user"]
      publishes      = []
      enqueues       = false
      artifacts_role = null
      signs_urls     = false
    }
    ideas = {
      service_id  = "ideas"
      entry_point = "ideas"
      trigger     = "http"
      public      = true
      memory      = "512Mi"
      timeout_s   = 60
      env = ["FACTORY_ENV", "GOOGLE_CLOUD_PROJECT", "FIRESTORE_DEADLINE_S", "FUNCTION_URL_TEMPLATE",
        "TASKS_LOCATION", "TASKS_DEADLINE_S", "PUBLISH_TIMEOUT_S", "STAGE_DEADLINE_S",
      "DEFAULT_BUDGET_COMPUTE_S", "DEFAULT_BUDGET_TOKENS"]
      env_values = {}
      secrets    = []
      callers    = ["invoker"]
      invokers   = ["allUsers"]
      # The pipeline transaction; reads Auth records. Publishes the first stage's message and arms
      # its watchdog deadline.
      roles          = ["roles/datastore.user", "roles/firebaseauth.viewer", "roles/cloudtasks.enqueuer"]
      publishes      = ["stage-idea-validation", "stage-tech-stack", "stage-uiux-design", "stage-development", "stage-qa", "stage-deployment"]
      enqueues       = true
      artifacts_role = null
      signs_urls     = false
    }
    factory = {
      service_id  = "factory"
      entry_point = "factory"
      trigger     = "http"
      public      = true
      memory      = "512Mi"
      timeout_s   = 60
      env = ["FACTORY_ENV", "GOOGLE_CLOUD_PROJECT", "FIRESTORE_DEADLINE_S", "FUNCTION_URL_TEMPLATE",
        "TASKS_LOCATION", "TASKS_DEADLINE_S", "PUBLISH_TIMEOUT_S", "STAGE_DEADLINE_S",
        "DEFAULT_BUDGET_COMPUTE_S", "DEFAULT_BUDGET_TOKENS", "ARTIFACTS_BUCKET", "ARTIFACT_DOWNLOAD",
        "ARTIFACT_URL_TTL_S", "PREVIEW_TTL_S", "QA_TIMEOUT_S", "STATE_DIR", "ENGINE_BY_STAGE", "FUNCTION_REGION",
        "LLM_BASE_URL", "LLM_MODEL", "LLM_RESPONSE_FORMAT"]
      env_values = {}
      # The plan-review routes load the engine (its spec check), whose settings declare the LLM key.
      secrets = ["LLM_API_KEY"]
      callers    = ["invoker"]
      invokers   = ["allUsers"]
      # Reads runs and artifacts; retry and approve dispatch a stage and arm its watchdog.
      roles     = ["roles/datastore.user", "roles/firebaseauth.viewer", "roles/cloudtasks.enqueuer"]
      publishes = ["stage-idea-validation", "stage-tech-stack", "stage-uiux-design", "stage-development", "stage-qa", "stage-deployment"]
      enqueues  = true
      # Reads artifacts to check them, and signs download URLs as itself (IAM signBlob).
      artifacts_role = "roles/storage.objectUser"
      signs_urls     = true
    }
    stage_idea_validation = {
      service_id  = "stage-idea-validation"
      entry_point = "handle"
      trigger     = "stage-idea-validation"
      public      = false
      memory      = "512Mi"
      timeout_s   = 120
      env = ["FACTORY_ENV", "GOOGLE_CLOUD_PROJECT", "FUNCTION_REGION", "FUNCTION_URL_TEMPLATE", "TASKS_LOCATION",
        "TASKS_DEADLINE_S", "PUBLISH_TIMEOUT_S", "STAGE_DEADLINE_S", "QA_MAX_LOOPS", "QA_TIMEOUT_S",
      "ENGINE_BY_STAGE", "LLM_BASE_URL", "LLM_MODEL", "LLM_RESPONSE_FORMAT", "PREVIEW_TTL_S", "STATE_DIR", "MAIL_FROM", "MAIL_TIMEOUT_S", "PUBLIC_BASE_URL", "ARTIFACTS_BUCKET"]
      env_values = { STAGE = "idea_validation", FIRESTORE_DEADLINE_S = "20" }
      secrets    = ["LLM_API_KEY", "SENDGRID_API_KEY"]
      callers    = ["invoker", "push"]
      invokers   = ["push"]
      # Claims and commits the stage; publishes the next stage (and poison messages to the dead-letter
      # topic); arms the next watchdog deadline.
      roles     = ["roles/datastore.user", "roles/cloudtasks.enqueuer"]
      publishes = ["stage-idea-validation", "stage-tech-stack", "stage-uiux-design", "stage-development", "stage-qa", "stage-deployment", "factory-dead-letter"]
      enqueues  = true
      # Writes its artifacts (and deletes those of a discarded commit), reads earlier stages' ones.
      artifacts_role = "roles/storage.objectUser"
      signs_urls     = false
    }
    stage_tech_stack = {
      service_id  = "stage-tech-stack"
      entry_point = "handle"
      trigger     = "stage-tech-stack"
      public      = false
      memory      = "512Mi"
      timeout_s   = 120
      env = ["FACTORY_ENV", "GOOGLE_CLOUD_PROJECT", "FUNCTION_REGION", "FUNCTION_URL_TEMPLATE", "TASKS_LOCATION",
        "TASKS_DEADLINE_S", "PUBLISH_TIMEOUT_S", "STAGE_DEADLINE_S", "QA_MAX_LOOPS", "QA_TIMEOUT_S",
      "ENGINE_BY_STAGE", "LLM_BASE_URL", "LLM_MODEL", "LLM_RESPONSE_FORMAT", "PREVIEW_TTL_S", "STATE_DIR", "MAIL_FROM", "MAIL_TIMEOUT_S", "PUBLIC_BASE_URL", "ARTIFACTS_BUCKET"]
      env_values = { STAGE = "tech_stack", FIRESTORE_DEADLINE_S = "20" }
      secrets    = ["LLM_API_KEY", "SENDGRID_API_KEY"]
      callers    = ["invoker", "push"]
      invokers   = ["push"]
      roles      = ["roles/datastore.user", "roles/cloudtasks.enqueuer"]
      publishes  = ["stage-idea-validation", "stage-tech-stack", "stage-uiux-design", "stage-development", "stage-qa", "stage-deployment", "factory-dead-letter"]
      enqueues   = true
      # Writes its artifacts (and deletes those of a discarded commit), reads earlier stages' ones.
      artifacts_role = "roles/storage.objectUser"
      signs_urls     = false
    }
    stage_uiux_design = {
      service_id  = "stage-uiux-design"
      entry_point = "handle"
      trigger     = "stage-uiux-design"
      public      = false
      memory      = "512Mi"
      timeout_s   = 120
      env = ["FACTORY_ENV", "GOOGLE_CLOUD_PROJECT", "FUNCTION_REGION", "FUNCTION_URL_TEMPLATE", "TASKS_LOCATION",
        "TASKS_DEADLINE_S", "PUBLISH_TIMEOUT_S", "STAGE_DEADLINE_S", "QA_MAX_LOOPS", "QA_TIMEOUT_S",
      "ENGINE_BY_STAGE", "LLM_BASE_URL", "LLM_MODEL", "LLM_RESPONSE_FORMAT", "PREVIEW_TTL_S", "STATE_DIR", "MAIL_FROM", "MAIL_TIMEOUT_S", "PUBLIC_BASE_URL", "ARTIFACTS_BUCKET"]
      env_values = { STAGE = "uiux_design", FIRESTORE_DEADLINE_S = "20" }
      secrets    = ["LLM_API_KEY", "SENDGRID_API_KEY"]
      callers    = ["invoker", "push"]
      invokers   = ["push"]
      roles      = ["roles/datastore.user", "roles/cloudtasks.enqueuer"]
      publishes  = ["stage-idea-validation", "stage-tech-stack", "stage-uiux-design", "stage-development", "stage-qa", "stage-deployment", "factory-dead-letter"]
      enqueues   = true
      # Writes its artifacts (and deletes those of a discarded commit), reads earlier stages' ones.
      artifacts_role = "roles/storage.objectUser"
      signs_urls     = false
    }
    stage_development = {
      service_id  = "stage-development"
      entry_point = "handle"
      trigger     = "stage-development"
      public      = false
      memory      = "1Gi"
      timeout_s   = 120
      env = ["FACTORY_ENV", "GOOGLE_CLOUD_PROJECT", "FUNCTION_REGION", "FUNCTION_URL_TEMPLATE", "TASKS_LOCATION",
        "TASKS_DEADLINE_S", "PUBLISH_TIMEOUT_S", "STAGE_DEADLINE_S", "QA_MAX_LOOPS", "QA_TIMEOUT_S",
      "ENGINE_BY_STAGE", "LLM_BASE_URL", "LLM_MODEL", "LLM_RESPONSE_FORMAT", "PREVIEW_TTL_S", "STATE_DIR", "MAIL_FROM", "MAIL_TIMEOUT_S", "PUBLIC_BASE_URL", "ARTIFACTS_BUCKET"]
      env_values = { STAGE = "development", FIRESTORE_DEADLINE_S = "20" }
      secrets    = ["LLM_API_KEY", "SENDGRID_API_KEY"]
      callers    = ["invoker", "push"]
      invokers   = ["push"]
      roles      = ["roles/datastore.user", "roles/cloudtasks.enqueuer"]
      publishes  = ["stage-idea-validation", "stage-tech-stack", "stage-uiux-design", "stage-development", "stage-qa", "stage-deployment", "factory-dead-letter"]
      enqueues   = true
      # Writes its artifacts (and deletes those of a discarded commit), reads earlier stages' ones.
      artifacts_role = "roles/storage.objectUser"
      signs_urls     = false
    }
    stage_qa = {
      service_id  = "stage-qa"
      entry_point = "handle"
      trigger     = "stage-qa"
      public      = false
      memory      = "1Gi"
      timeout_s   = 300
      env = ["FACTORY_ENV", "GOOGLE_CLOUD_PROJECT", "FUNCTION_REGION", "FUNCTION_URL_TEMPLATE", "TASKS_LOCATION",
        "TASKS_DEADLINE_S", "PUBLISH_TIMEOUT_S", "STAGE_DEADLINE_S", "QA_MAX_LOOPS", "QA_TIMEOUT_S",
      "ENGINE_BY_STAGE", "LLM_BASE_URL", "LLM_MODEL", "LLM_RESPONSE_FORMAT", "PREVIEW_TTL_S", "STATE_DIR", "MAIL_FROM", "MAIL_TIMEOUT_S", "PUBLIC_BASE_URL", "ARTIFACTS_BUCKET"]
      env_values = { STAGE = "qa", FIRESTORE_DEADLINE_S = "20" }
      secrets    = ["LLM_API_KEY", "SENDGRID_API_KEY"]
      callers    = ["invoker", "push"]
      invokers   = ["push"]
      roles      = ["roles/datastore.user", "roles/cloudtasks.enqueuer"]
      publishes  = ["stage-idea-validation", "stage-tech-stack", "stage-uiux-design", "stage-development", "stage-qa", "stage-deployment", "factory-dead-letter"]
      enqueues   = true
      # Writes its artifacts (and deletes those of a discarded commit), reads earlier stages' ones.
      artifacts_role = "roles/storage.objectUser"
      signs_urls     = false
    }
    stage_deployment = {
      service_id  = "stage-deployment"
      entry_point = "handle"
      trigger     = "stage-deployment"
      public      = false
      memory      = "1Gi"
      timeout_s   = 300
      env = ["FACTORY_ENV", "GOOGLE_CLOUD_PROJECT", "FUNCTION_REGION", "FUNCTION_URL_TEMPLATE", "TASKS_LOCATION",
        "TASKS_DEADLINE_S", "PUBLISH_TIMEOUT_S", "STAGE_DEADLINE_S", "QA_MAX_LOOPS", "QA_TIMEOUT_S",
      "ENGINE_BY_STAGE", "LLM_BASE_URL", "LLM_MODEL", "LLM_RESPONSE_FORMAT", "PREVIEW_TTL_S", "STATE_DIR", "MAIL_FROM", "MAIL_TIMEOUT_S", "PUBLIC_BASE_URL", "ARTIFACTS_BUCKET"]
      env_values = { STAGE = "deployment", FIRESTORE_DEADLINE_S = "20" }
      secrets    = ["LLM_API_KEY", "SENDGRID_API_KEY"]
      callers    = ["invoker", "push"]
      invokers   = ["push"]
      # Also submits generated apps' builds (deploy_mode cloud_run): see the deployer roles in iam.tf. The
      # services are created by build_events when the build ends (decision 0040).
      roles     = ["roles/datastore.user", "roles/cloudtasks.enqueuer", "roles/cloudbuild.builds.editor"]
      publishes = ["stage-idea-validation", "stage-tech-stack", "stage-uiux-design", "stage-development", "stage-qa", "stage-deployment", "factory-dead-letter"]
      enqueues  = true
      # Writes its artifacts (and deletes those of a discarded commit), reads earlier stages' ones.
      artifacts_role = "roles/storage.objectUser"
      signs_urls     = false
    }
    dead_letter = {
      service_id  = "dead-letter"
      entry_point = "handle"
      trigger     = "factory-dead-letter"
      public      = false
      memory      = "512Mi"
      timeout_s   = 60
      env         = ["FACTORY_ENV", "GOOGLE_CLOUD_PROJECT", "FUNCTION_URL_TEMPLATE", "MAIL_FROM", "MAIL_TIMEOUT_S", "PUBLIC_BASE_URL"]
      env_values  = { FIRESTORE_DEADLINE_S = "20" }
      secrets     = ["SENDGRID_API_KEY"]
      callers     = ["push"]
      invokers    = ["push"]
      # Marks the run of an undeliverable message failed (and refunds it, in the same transaction).
      roles          = ["roles/datastore.user"]
      publishes      = []
      enqueues       = false
      artifacts_role = null
      signs_urls     = false
    }
    build_events = {
      service_id  = "build-events"
      entry_point = "handle"
      trigger     = "cloud-builds"
      public      = false
      memory      = "512Mi"
      timeout_s   = 300
      env = ["FACTORY_ENV", "GOOGLE_CLOUD_PROJECT", "FUNCTION_REGION", "FUNCTION_URL_TEMPLATE", "STAGE_DEADLINE_S",
      "QA_MAX_LOOPS", "MAIL_FROM", "MAIL_TIMEOUT_S", "PUBLIC_BASE_URL", "ARTIFACTS_BUCKET"]
      env_values  = { FIRESTORE_DEADLINE_S = "20" }
      secrets     = ["SENDGRID_API_KEY"]
      callers     = ["push"]
      invokers    = ["push"]
      # Completes the parked deployment stage (the pipeline transaction) and creates or updates the generated
      # app's Cloud Run service when its build succeeded (Run admin; acts as the apps' runtime identity, iam.tf).
      roles          = ["roles/datastore.user", "roles/run.admin"]
      publishes      = []
      enqueues       = false
      # The commit path can store and discard artifacts; a completion adds none.
      artifacts_role = "roles/storage.objectUser"
      signs_urls     = false
    }
    watchdog = {
      service_id  = "watchdog"
      entry_point = "watchdog"
      trigger     = "http"
      public      = false
      memory      = "512Mi"
      timeout_s   = 60
      env = ["FACTORY_ENV", "GOOGLE_CLOUD_PROJECT", "FUNCTION_URL_TEMPLATE", "TASKS_LOCATION", "TASKS_DEADLINE_S",
        "PUBLISH_TIMEOUT_S", "STAGE_DEADLINE_S", "STAGE_DEADLINE_FACTOR", "STAGE_QUEUE_FLOOR_S",
      "STAGE_RUN_FLOOR_S", "STAGE_LIVENESS_WINDOW_S", "STAGE_SLOTS", "WATCHDOG_MAX_REDISPATCH", "MAIL_FROM",
      "MAIL_TIMEOUT_S", "PUBLIC_BASE_URL", "STATE_DIR"]
      env_values = { FIRESTORE_DEADLINE_S = "20" }
      secrets    = ["SENDGRID_API_KEY"]
      callers    = ["invoker"]
      invokers   = ["invoker"]
      # Deadlines, reconciler and outbox sweep: re-dispatches stages and re-arms their deadlines.
      roles          = ["roles/datastore.user", "roles/cloudtasks.enqueuer"]
      publishes      = ["stage-idea-validation", "stage-tech-stack", "stage-uiux-design", "stage-development", "stage-qa", "stage-deployment"]
      enqueues       = true
      artifacts_role = null
      signs_urls     = false
    }
  }

  subscriptions = {
    "stage-idea-validation-push" = { topic = "stage-idea-validation", function = "stage_idea_validation", ack_deadline_s = 120, min_backoff_s = 1, max_backoff_s = 60, dead_letter_topic = "factory-dead-letter", max_delivery_attempts = 5 }
    "stage-tech-stack-push"      = { topic = "stage-tech-stack", function = "stage_tech_stack", ack_deadline_s = 120, min_backoff_s = 1, max_backoff_s = 60, dead_letter_topic = "factory-dead-letter", max_delivery_attempts = 5 }
    "stage-uiux-design-push"     = { topic = "stage-uiux-design", function = "stage_uiux_design", ack_deadline_s = 120, min_backoff_s = 1, max_backoff_s = 60, dead_letter_topic = "factory-dead-letter", max_delivery_attempts = 5 }
    "stage-development-push"     = { topic = "stage-development", function = "stage_development", ack_deadline_s = 120, min_backoff_s = 1, max_backoff_s = 60, dead_letter_topic = "factory-dead-letter", max_delivery_attempts = 5 }
    "stage-qa-push"              = { topic = "stage-qa", function = "stage_qa", ack_deadline_s = 300, min_backoff_s = 1, max_backoff_s = 60, dead_letter_topic = "factory-dead-letter", max_delivery_attempts = 5 }
    "stage-deployment-push"      = { topic = "stage-deployment", function = "stage_deployment", ack_deadline_s = 300, min_backoff_s = 1, max_backoff_s = 60, dead_letter_topic = "factory-dead-letter", max_delivery_attempts = 5 }
    "cloud-builds-push"          = { topic = "cloud-builds", function = "build_events", ack_deadline_s = 300, min_backoff_s = 1, max_backoff_s = 60, dead_letter_topic = "factory-dead-letter", max_delivery_attempts = 5 }
    # The dead-letter handler's own failures must not loop back into itself.
    "factory-dead-letter-push" = { topic = "factory-dead-letter", function = "dead_letter", ack_deadline_s = 60, min_backoff_s = 1, max_backoff_s = 60, dead_letter_topic = null, max_delivery_attempts = null }
  }

  schedules = {
    "outbox-sweep"    = { cron = "* * * * *", function = "watchdog", path = "/sweep" }
    "stage-reconcile" = { cron = "* * * * *", function = "watchdog", path = "/reconcile" }
    "stripe-reconcile" = { cron = "*/5 * * * *", function = "stripe_webhook", path = "/reconcile" }
  }
}
