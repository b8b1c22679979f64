# Generated apps' images (EngineConfig.artifact_registry_repo).
resource "google_artifact_registry_repository" "apps" {
  repository_id = "saas-factory"
  location      = var.region
  format        = "DOCKER"
  description   = "Images of the apps the factory generates"

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 5
    }
  }
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "2592000s" # 30 days, unless among the 5 most recent of its image
    }
  }
  depends_on = [google_project_service.api]
}
