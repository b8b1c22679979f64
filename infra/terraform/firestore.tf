resource "google_firestore_database" "default" {
  name                              = "(default)"
  location_id                       = var.firestore_location
  type                              = "FIRESTORE_NATIVE"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = "DELETE_PROTECTION_ENABLED"
  deletion_policy                   = "ABANDON"
  depends_on                        = [google_project_service.api]
}

# The same rules file the emulator loads (firebase.json).
resource "google_firebaserules_ruleset" "firestore" {
  source {
    files {
      name    = "firestore.rules"
      content = file("${path.module}/../../firestore.rules")
    }
  }
  depends_on = [google_firestore_database.default]
}

resource "google_firebaserules_release" "firestore" {
  name         = "cloud.firestore"
  ruleset_name = google_firebaserules_ruleset.firestore.name
  lifecycle {
    replace_triggered_by = [google_firebaserules_ruleset.firestore]
  }
}

# The same index file the emulator and `firebase deploy` read.
locals {
  firestore_indexes = jsondecode(file("${path.module}/../../firestore.indexes.json"))
}

resource "google_firestore_index" "composite" {
  for_each = {
    for ix in local.firestore_indexes.indexes :
    "${ix.collectionGroup}:${try(ix.queryScope, "COLLECTION")}:${join(",", [for f in ix.fields : "${f.fieldPath}=${try(f.order, f.arrayConfig)}"])}" => ix
  }
  database    = google_firestore_database.default.name
  collection  = each.value.collectionGroup
  query_scope = try(each.value.queryScope, "COLLECTION")

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path   = fields.value.fieldPath
      order        = try(fields.value.order, null)
      array_config = try(fields.value.arrayConfig, null)
    }
  }
}

resource "google_firestore_field" "override" {
  for_each   = { for o in local.firestore_indexes.fieldOverrides : "${o.collectionGroup}.${o.fieldPath}" => o }
  database   = google_firestore_database.default.name
  collection = each.value.collectionGroup
  field      = each.value.fieldPath

  index_config {
    dynamic "indexes" {
      for_each = each.value.indexes
      content {
        order        = try(indexes.value.order, null)
        array_config = try(indexes.value.arrayConfig, null)
        query_scope  = indexes.value.queryScope
      }
    }
  }
}

# Shared first, isolate if needed: a tenant moved to its own named database (infra/tenant_move.py) gets a
# database like (default), the same rules (a release named cloud.firestore/<database>) and the same indexes.
# The functions' roles/datastore.user is granted on the project, so it covers these databases too.
resource "google_firestore_database" "tenant" {
  for_each                          = toset(var.isolated_tenant_databases)
  name                              = each.value
  location_id                       = var.firestore_location
  type                              = "FIRESTORE_NATIVE"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = "DELETE_PROTECTION_ENABLED"
  deletion_policy                   = "ABANDON"
  depends_on                        = [google_project_service.api]
}

resource "google_firebaserules_release" "tenant" {
  for_each     = google_firestore_database.tenant
  name         = "cloud.firestore/${each.value.name}"
  ruleset_name = google_firebaserules_ruleset.firestore.name
  lifecycle {
    replace_triggered_by = [google_firebaserules_ruleset.firestore]
  }
}

resource "google_firestore_index" "tenant_composite" {
  for_each = {
    for pair in setproduct(var.isolated_tenant_databases, [
      for ix in local.firestore_indexes.indexes :
      "${ix.collectionGroup}:${try(ix.queryScope, "COLLECTION")}:${join(",", [for f in ix.fields : "${f.fieldPath}=${try(f.order, f.arrayConfig)}"])}"
    ]) : "${pair[0]}/${pair[1]}" => { database = pair[0], key = pair[1] }
  }
  database    = google_firestore_database.tenant[each.value.database].name
  collection  = google_firestore_index.composite[each.value.key].collection
  query_scope = google_firestore_index.composite[each.value.key].query_scope

  dynamic "fields" {
    for_each = google_firestore_index.composite[each.value.key].fields
    content {
      field_path   = fields.value.field_path
      order        = fields.value.order
      array_config = fields.value.array_config
    }
  }
}
