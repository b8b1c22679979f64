resource "google_monitoring_notification_channel" "email" {
  count        = var.alert_email == "" ? 0 : 1
  display_name = "SaaS Factory on-call"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }
}

locals {
  alert_channels = [for c in google_monitoring_notification_channel.email : c.id]
  stage_services = [for name, fn in local.functions : fn.service_id if fn.trigger != "http" && fn.trigger != local.dead_letter_topic]
}

# A message that exhausted its deliveries went to the dead-letter topic: a stage keeps failing.
resource "google_monitoring_alert_policy" "dead_letter" {
  display_name          = "Factory: messages dead-lettered"
  combiner              = "OR"
  notification_channels = local.alert_channels
  conditions {
    display_name = "dead-lettered messages on a stage subscription"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND metric.type = \"pubsub.googleapis.com/subscription/dead_letter_message_count\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.subscription_id"]
      }
    }
  }
}

# The dead-letter handler itself is stuck: its subscription's backlog grows.
resource "google_monitoring_alert_policy" "dead_letter_backlog" {
  display_name          = "Factory: dead-letter backlog"
  combiner              = "OR"
  notification_channels = local.alert_channels
  conditions {
    display_name = "undelivered dead letters for 10 minutes"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.label.subscription_id = \"${google_pubsub_subscription.push["factory-dead-letter-push"].name}\" AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "600s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }
}

# Runs that end failed, counted from the structured logs the stage, watchdog and dead-letter
# functions write (shared/stage_runner.py, shared/runs/timeouts.py).
resource "google_logging_metric" "failed_runs" {
  name   = "factory/failed_runs"
  filter = <<-EOT
    resource.type="cloud_run_revision"
    (jsonPayload.message="permanent error; run failed" OR jsonPayload.message="stage done; run is failed"
     OR jsonPayload.message=~"^(watchdog|reconciler): .*failed" OR (jsonPayload.message="dead letter handled" AND jsonPayload.failed_run=true))
  EOT
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }
}

resource "google_monitoring_alert_policy" "failed_runs" {
  display_name          = "Factory: failed-run rate"
  combiner              = "OR"
  notification_channels = local.alert_channels
  conditions {
    display_name = "more than var.failed_runs_per_hour failed runs in an hour"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND metric.type = \"logging.googleapis.com/user/${google_logging_metric.failed_runs.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.failed_runs_per_hour
      duration        = "0s"
      aggregations {
        alignment_period     = "3600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }
}

# A stage's requests take most of its timeout: the next slow one will be cut off and retried.
resource "google_monitoring_alert_policy" "stage_latency" {
  display_name          = "Factory: stage latency"
  combiner              = "OR"
  notification_channels = local.alert_channels
  dynamic "conditions" {
    for_each = { for name, fn in local.functions : name => fn if contains(local.stage_services, fn.service_id) }
    content {
      display_name = "${conditions.value.service_id} p95 above 80% of its ${conditions.value.timeout_s}s timeout"
      condition_threshold {
        filter          = "resource.type = \"cloud_run_revision\" AND resource.label.service_name = \"${conditions.value.service_id}\" AND metric.type = \"run.googleapis.com/request_latencies\""
        comparison      = "COMPARISON_GT"
        threshold_value = conditions.value.timeout_s * 1000 * 0.8
        duration        = "300s"
        aggregations {
          alignment_period     = "300s"
          per_series_aligner   = "ALIGN_PERCENTILE_95"
          cross_series_reducer = "REDUCE_MAX"
        }
      }
    }
  }
}

# Stripe retries a failed webhook for days; an answer other than 2xx means entitlements lag.
resource "google_monitoring_alert_policy" "webhook_failures" {
  display_name          = "Factory: Stripe webhook failures"
  combiner              = "OR"
  notification_channels = local.alert_channels
  conditions {
    display_name = "stripe-webhook answers 5xx"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND resource.label.service_name = \"${local.functions.stripe_webhook.service_id}\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.label.response_code_class = \"5xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "300s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }
  conditions {
    display_name = "stripe-webhook refuses signatures (4xx) repeatedly"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND resource.label.service_name = \"${local.functions.stripe_webhook.service_id}\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.label.response_code_class = \"4xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = 5
      duration        = "900s"
      aggregations {
        alignment_period     = "900s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }
}
