# One Cloud Run function (2nd gen) per entry of local.functions (shared/topology.FUNCTIONS).
# Every function is HTTP-served: the push-fed ones receive Pub/Sub's push requests, which
# functions-framework turns into the CloudEvent their decorator declares, exactly as locally.
# Why functions and not Cloud Run services: docs/decisions/0027-terraform-cloud-run-functions.md.

resource "google_storage_bucket_object" "source" {
  for_each = local.functions
  # Named by content: a changed package is a new object, and so a new revision.
  name   = "${each.key}/${filemd5("${var.function_source_dir}/${each.key}.zip")}.zip"
  bucket = google_storage_bucket.function_sources.name
  source = "${var.function_source_dir}/${each.key}.zip"
}

resource "google_cloudfunctions2_function" "fn" {
  for_each = local.functions
  name     = each.value.service_id
  location = var.region

  build_config {
    runtime     = "python311"
    entry_point = each.value.entry_point
    source {
      storage_source {
        bucket = google_storage_bucket.function_sources.name
        object = google_storage_bucket_object.source[each.key].name
      }
    }
  }

  service_config {
    available_memory               = each.value.memory
    timeout_seconds                = each.value.timeout_s
    service_account_email          = google_service_account.fn[each.key].email
    ingress_settings               = each.value.public ? "ALLOW_ALL" : "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    environment_variables = merge(
      { for name in each.value.env : name => local.settings_env[name] },
      each.value.env_values,
      length(each.value.callers) > 0 ? { SERVICE_ACCOUNTS = join(",", [for c in each.value.callers : local.callers[c]]) } : {},
    )
    dynamic "secret_environment_variables" {
      for_each = each.value.secrets
      content {
        key        = secret_environment_variables.value
        project_id = var.project
        secret     = google_secret_manager_secret.secret[secret_environment_variables.value].secret_id
        version    = "latest"
      }
    }
  }

  depends_on = [google_project_service.api, google_secret_manager_secret_iam_member.accessor]
}
