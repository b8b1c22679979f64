# Firebase on the project, and the Hosting site serving web/ with the rewrites of firebase.json
# (`firebase deploy --only hosting`, run by infra/deploy.py after the apply).
resource "google_firebase_project" "this" {
  provider   = google-beta
  project    = var.project
  depends_on = [google_project_service.api]
}

# The project's default site has the project's id. If it exists already (Hosting was opened in the
# console), import it once: see docs/DEPLOY.md.
resource "google_firebase_hosting_site" "site" {
  provider   = google-beta
  project    = var.project
  site_id    = var.hosting_site_id != "" ? var.hosting_site_id : var.project
  depends_on = [google_firebase_project.this]
}
