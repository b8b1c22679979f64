# Function packages (infra/package.py), named by content hash: kept 90 days so a rollback can
# point a function at an earlier package (docs/DEPLOY.md).
resource "google_storage_bucket" "function_sources" {
  name                        = "${var.project}-function-sources"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  lifecycle_rule {
    condition {
      age = 90
    }
    action {
      type = "Delete"
    }
  }
}

# Run artifacts (project.zip, reports). Kept var.artifact_retention_days, moved to cheaper storage
# after 30 days. The artifact store writes here once artifacts leave Firestore (issue 21); until
# then no function has a role on it.
resource "google_storage_bucket" "artifacts" {
  name                        = "${var.project}-factory-artifacts"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  lifecycle_rule {
    condition {
      age = 30
    }
    action {
      type          = "SetStorageClass"
      storage_class = "NEARLINE"
    }
  }
  lifecycle_rule {
    condition {
      age = var.artifact_retention_days
    }
    action {
      type = "Delete"
    }
  }
}

# Generated apps' build sources: the deployment stage uploads here (the name its EngineConfig
# defaults to, "<project>_cloudbuild"); Cloud Build reads them once.
resource "google_storage_bucket" "cloudbuild" {
  name                        = "${var.project}_cloudbuild"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  lifecycle_rule {
    condition {
      age = 14
    }
    action {
      type = "Delete"
    }
  }
}
