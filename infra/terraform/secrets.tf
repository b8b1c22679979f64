# The factory's own secrets. Terraform creates the secrets, never their values (those would sit in
# the state): add a version with `gcloud secrets versions add` (docs/DEPLOY.md) before the first
# full apply. Each is mounted only in the functions that read it (topology.tf, iam.tf).
resource "google_secret_manager_secret" "secret" {
  for_each  = local.secrets
  secret_id = each.value
  replication {
    auto {}
  }
  depends_on = [google_project_service.api]
}
