variable "project" {
  description = "Google Cloud project id (also the Firebase project)."
  type        = string
  validation {
    condition     = !startswith(var.project, "demo-")
    error_message = "demo- projects are the emulators' (shared/settings.py refuses them in production)."
  }
}

variable "region" {
  description = "Region of the functions, queue, scheduler jobs, Artifact Registry and Cloud SQL."
  type        = string
  default     = "us-central1"
}

variable "firestore_location" {
  description = "Firestore location (a multi-region such as nam5, or a region)."
  type        = string
  default     = "nam5"
}

variable "function_source_dir" {
  description = "Where `python -m infra.deploy` leaves one <function>.zip per function (infra/package.py)."
  type        = string
  default     = "../../build"
}

variable "hosting_site_id" {
  description = "Firebase Hosting site id; empty: the project id (the project's default site)."
  type        = string
  default     = ""
}

variable "engine_by_stage" {
  description = "ENGINE_BY_STAGE: which engine each stage uses (\"qa=llm,...\" or JSON); empty: the deterministic engines."
  type        = string
  default     = ""
}

variable "llm_base_url" {
  description = "LLM_BASE_URL: an OpenAI-compatible endpoint for stages that use the llm engine; empty: none."
  type        = string
  default     = ""
}

variable "llm_model" {
  description = "LLM_MODEL."
  type        = string
  default     = "gpt-4o-mini"
}

variable "llm_response_format" {
  description = "LLM_RESPONSE_FORMAT: json_object (any OpenAI-compatible server), json_schema (OpenAI structured outputs) or json_object_schema (llama-cpp-python); decision 0045."
  type        = string
  default     = "json_object"
}

variable "sql_tier" {
  description = "Machine tier of the Cloud SQL instance the generated apps' databases live on."
  type        = string
  default     = "db-custom-1-3840"
}

variable "artifact_retention_days" {
  description = "Days a run's artifacts are kept in the artifacts bucket."
  type        = number
  default     = 90
}

variable "alert_email" {
  description = "Where alerts go; empty: alert policies without a notification channel (visible in the console only)."
  type        = string
  default     = ""
}

variable "failed_runs_per_hour" {
  description = "Alert when more runs than this fail within an hour."
  type        = number
  default     = 5
}

variable "isolated_tenant_databases" {
  description = <<-EOT
    Named Firestore databases for tenants moved out of (default) ("shared first, isolate if needed"): one per
    isolated tenant, e.g. ["tenant-acme"]. Add the name here and apply before `python -m infra.tenant_move`;
    each gets the same rules and indexes as (default). docs/DEPLOY.md, "Moving a tenant to its own database".
  EOT
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for d in var.isolated_tenant_databases : can(regex("^[a-z][a-z0-9-]{2,61}[a-z0-9]$", d))])
    error_message = "Each database id is 4-63 characters: lowercase letters, digits and '-', starting with a letter."
  }
}

variable "mail_from" {
  description = "MAIL_FROM: the sender of run notifications (a SendGrid verified sender)."
  type        = string
  default     = "SaaS Factory <notifications@saas-factory.app>"
}
