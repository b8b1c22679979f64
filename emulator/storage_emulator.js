// Runs the Firebase Storage emulator from the pinned firebase-tools package (emulator/package.json): it
// speaks the Cloud Storage JSON API the google-cloud-storage client uses (STORAGE_EMULATOR_HOST).
// docs/decisions/0036-artifacts-in-cloud-storage.md says why this one and what it lacks.
//
// As shipped it does not start offline: it first starts a Java rules runtime that firebase-tools
// downloads from Google's hosts. The factory never goes through Firebase Storage rules (only the
// functions touch the bucket, through the GCS API, as the emulator's admin), so the rules runtime is
// replaced by "no rules" below and the emulator is registered the way `firebase emulators:start`
// registers it (it builds object URLs from the registry).
//
// Data lives in STORAGE_DATA_DIR: imported on start, exported (beside the old copy, then swapped in)
// every STORAGE_EXPORT_INTERVAL_S seconds when something changed, and on SIGTERM. Blobs in use sit in
// the emulator's own temporary directory, which TMPDIR (set by emulator/localcloud.py under STATE_DIR)
// keeps apart from other local clouds on the same machine.
"use strict";
const fs = require("fs");
const path = require("path");
const runtime = require("firebase-tools/lib/emulator/storage/rules/runtime");

runtime.StorageRulesRuntime.prototype.start = async function () {};
runtime.StorageRulesRuntime.prototype.stop = async function () {};
const { StorageEmulator } = require("firebase-tools/lib/emulator/storage");
const { EmulatorRegistry } = require("firebase-tools/lib/emulator/registry");

StorageEmulator.prototype.createRulesManager = function () {
  return { start: async () => [], stop: async () => {}, getRuleset: () => undefined };
};

const host = process.env.STORAGE_HOST || "127.0.0.1";
const port = Number(process.env.STORAGE_PORT || 9199);
const projectId = process.env.GOOGLE_CLOUD_PROJECT || "demo-factory";
const dataDir = process.env.STORAGE_DATA_DIR || "";
const exportEveryMs = 1000 * Number(process.env.STORAGE_EXPORT_INTERVAL_S || 5);

function log(severity, message, extra) {
  console.log(JSON.stringify({ severity, message, ...(extra || {}) }));
}

async function main() {
  const emu = new StorageEmulator({ host, port, projectId, auto_download: false });
  // Registered before anything else: bucket metadata (import included) builds URLs from the registry.
  EmulatorRegistry.set(emu.getName(), emu);
  const layer = emu.adminStorageLayer;
  if (dataDir && fs.existsSync(path.join(dataDir, "buckets.json"))) {
    layer.import(dataDir, { initiatedBy: "start" });
    log("INFO", `storage emulator imported objects from ${dataDir}`);
  }
  let dirty = false;
  for (const method of ["uploadObject", "deleteObject", "copyObject", "updateObjectMetadata"]) {
    const original = layer[method].bind(layer);
    layer[method] = (...args) => {
      dirty = true;
      return original(...args);
    };
  }
  await emu.start();
  log("INFO", `storage emulator listening on ${host}:${port}`, { projectId });

  let exporting = Promise.resolve();
  const exportData = () => {
    exporting = exporting.then(async () => {
      if (!dataDir || !dirty) return;
      dirty = false;
      const tmp = `${dataDir}.tmp`;
      fs.rmSync(tmp, { recursive: true, force: true });
      fs.mkdirSync(tmp, { recursive: true });
      try {
        await layer.export(tmp, { initiatedBy: "exit" });
        fs.rmSync(dataDir, { recursive: true, force: true });
        fs.renameSync(tmp, dataDir);
      } catch (e) {
        dirty = true;
        log("ERROR", `storage export failed (the previous export is kept): ${e}`);
      }
    });
    return exporting;
  };
  const timer = setInterval(exportData, exportEveryMs);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    await exportData();
    if (dataDir) log("INFO", `storage emulator exported objects to ${dataDir}`);
    await emu.stop().catch(() => {});
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((e) => {
  log("ERROR", `storage emulator failed to start: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
