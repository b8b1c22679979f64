# After apply: every function's Cloud Run service serves the URL the code derives from
# FUNCTION_URL_TEMPLATE (and that the push subscriptions use as OIDC audience).
data "google_cloud_run_v2_service" "fn" {
  for_each = local.functions
  name     = google_cloudfunctions2_function.fn[each.key].name
  location = var.region
}

check "function_urls" {
  assert {
    condition = alltrue([
      for name, svc in data.google_cloud_run_v2_service.fn : contains(svc.urls, local.function_urls[name])
    ])
    error_message = "A function's Cloud Run service does not serve the URL FUNCTION_URL_TEMPLATE gives the code; pushes would be refused (shared/auth.py)."
  }
}
