# The watchdog's deadlines (shared/dispatch.arm_watchdog): one task per stage dispatch, calling the
# watchdog's /deadline as the invoker identity.
resource "google_cloud_tasks_queue" "watchdog" {
  name     = local.watchdog_queue
  location = var.region

  retry_config {
    max_attempts = 3
    min_backoff  = "1s"
    max_backoff  = "60s"
  }

  rate_limits {
    max_dispatches_per_second = 50
  }

  depends_on = [google_project_service.api]
}
