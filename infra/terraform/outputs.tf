output "function_urls" {
  description = "Each function's URL (the OIDC audience its callers use)."
  value       = local.function_urls
}

output "function_service_uris" {
  description = "Each function's Cloud Run URI as Cloud Functions reports it."
  value       = { for name, fn in google_cloudfunctions2_function.fn : name => fn.service_config[0].uri }
}

output "hosting_url" {
  value = google_firebase_hosting_site.site.default_url
}

output "function_service_accounts" {
  value = { for name, sa in google_service_account.fn : name => sa.email }
}

output "cloud_sql_connection_name" {
  value = google_sql_database_instance.apps.connection_name
}

output "artifact_registry" {
  value = "${var.region}-docker.pkg.dev/${var.project}/${google_artifact_registry_repository.apps.repository_id}"
}

output "buckets" {
  value = {
    function_sources = google_storage_bucket.function_sources.name
    artifacts        = google_storage_bucket.artifacts.name
    cloudbuild       = google_storage_bucket.cloudbuild.name
  }
}
