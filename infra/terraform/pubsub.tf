resource "google_pubsub_topic" "topic" {
  for_each                   = toset(local.topics)
  name                       = each.key
  message_retention_duration = "86400s"
  depends_on                 = [google_project_service.api]
}

# Push subscriptions (not Eventarc triggers, whose subscriptions Terraform cannot give a
# dead-letter policy): each pushes to its function with an OIDC token of the push identity whose
# audience is the function's URL, the one shared/auth.require_push checks.
resource "google_pubsub_subscription" "push" {
  for_each             = local.subscriptions
  name                 = each.key
  topic                = google_pubsub_topic.topic[each.value.topic].id
  ack_deadline_seconds = min(each.value.ack_deadline_s, 600)

  push_config {
    push_endpoint = google_cloudfunctions2_function.fn[each.value.function].service_config[0].uri
    oidc_token {
      service_account_email = google_service_account.push.email
      audience              = local.function_urls[each.value.function]
    }
  }

  retry_policy {
    minimum_backoff = "${each.value.min_backoff_s}s"
    maximum_backoff = "${each.value.max_backoff_s}s"
  }

  dynamic "dead_letter_policy" {
    for_each = each.value.dead_letter_topic == null ? [] : [each.value]
    content {
      dead_letter_topic     = google_pubsub_topic.topic[dead_letter_policy.value.dead_letter_topic].id
      max_delivery_attempts = dead_letter_policy.value.max_delivery_attempts
    }
  }

  expiration_policy {
    ttl = "" # never expires for inactivity
  }

  depends_on = [google_cloud_run_v2_service_iam_member.invoker, google_service_account_iam_member.pubsub_mints_push_tokens]
}
