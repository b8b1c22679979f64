# The Postgres instance generated apps keep their data on (EngineConfig.cloud_sql_instance): each
# app gets a database and user on it (DATABASE_URL secret, shared/engine/deploy_adapter.app_secrets).
# Reached through the Cloud SQL connector's Unix socket only: no authorised networks.
resource "google_sql_database_instance" "apps" {
  name                = "saas-factory-apps"
  region              = var.region
  database_version    = "POSTGRES_16"
  deletion_protection = true

  settings {
    tier              = var.sql_tier
    edition           = "ENTERPRISE"
    availability_type = "ZONAL"
    backup_configuration {
      enabled                        = true
      point_in_time_recovery_enabled = true
    }
    ip_configuration {
      ipv4_enabled = true
      ssl_mode     = "ENCRYPTED_ONLY"
    }
    database_flags {
      name  = "cloudsql.iam_authentication"
      value = "on"
    }
  }
  depends_on = [google_project_service.api]
}
