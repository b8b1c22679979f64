# shared/topology.SCHEDULES: the outbox sweep and the reconciler, every minute, as the invoker
# identity (audience: the full target URL, which shared/auth.audiences accepts).
# Generated apps' own jobs (e.g. reminders) are per app and not part of the topology: the
# deployment stage writes them to each run's scheduler-jobs.json artifact.
resource "google_cloud_scheduler_job" "job" {
  for_each         = local.schedules
  name             = each.key
  region           = var.region
  schedule         = each.value.cron
  time_zone        = "Etc/UTC"
  attempt_deadline = "60s"

  retry_config {
    retry_count = 0 # the next tick runs a minute later anyway
  }

  http_target {
    http_method = "POST"
    uri         = "${local.function_urls[each.value.function]}${each.value.path}"
    headers     = { "Content-Type" = "application/json" }
    body        = base64encode("{}")
    oidc_token {
      service_account_email = google_service_account.invoker.email
      audience              = "${local.function_urls[each.value.function]}${each.value.path}"
    }
  }

  depends_on = [google_cloud_run_v2_service_iam_member.invoker]
}
