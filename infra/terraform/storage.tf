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

# Run artifacts (project.zip, reports; shared/artifact_store.py), objects
# tenants/<tenant>/pipelines/<run>/<stage>/<claim>/<name>. Kept var.artifact_retention_days, moved to
# cheaper storage after 30 days. Roles per function in iam.tf. The dashboard fetches a download from the
# V4 signed URL the API redirects to, so the Hosting origin may GET (CORS).
resource "google_storage_bucket" "artifacts" {
  name                        = "${var.project}-factory-artifacts"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  cors {
    origin          = [google_firebase_hosting_site.site.default_url]
    method          = ["GET"]
    response_header = ["Content-Type", "Content-Disposition"]
    max_age_seconds = 300
  }
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
