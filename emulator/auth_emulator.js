// Runs the Firebase Auth emulator from the pinned firebase-tools package (emulator/package.json).
//
// `firebase emulators:start --only auth` does the same but first spends ~9 s on network lookups
// that fail offline; this starts the same AuthEmulator class directly. It imports users from
// AUTH_DATA_DIR on start and exports them there every AUTH_EXPORT_INTERVAL_S seconds (as the
// supervisor exports Firestore) and on SIGTERM, so a killed emulator loses at most one interval of
// accounts and `make up` after `make down` keeps them in step with the Firestore data that refers to them.
"use strict";
const fs = require("fs");
const path = require("path");
// The emulator validates requests against its OpenAPI spec with exegesis, which by default compiles
// every schema with ajv at start: ~7 s of CPU. Compiling each schema on first use instead gives the
// same validation and a ~1 s start.
const exegesisOptions = require("exegesis/lib/options");
const compileOptions = exegesisOptions.compileOptions;
exegesisOptions.compileOptions = (options = {}) =>
  compileOptions({ lazyCompileValidationSchemas: true, ...options });
const { AuthEmulator } = require("firebase-tools/lib/emulator/auth");

const host = process.env.AUTH_HOST || "127.0.0.1";
const port = Number(process.env.AUTH_PORT || 9099);
const projectId = process.env.GOOGLE_CLOUD_PROJECT || "demo-factory";
const dataDir = process.env.AUTH_DATA_DIR || "";

function log(severity, message, extra) {
  console.log(JSON.stringify({ severity, message, ...(extra || {}) }));
}

async function get(p) {
  const res = await fetch(`http://${host}:${port}${p}`, { headers: { Authorization: "Bearer owner" } });
  if (!res.ok) throw new Error(`GET ${p} -> ${res.status}`);
  return res.text();
}

const exportEveryS = Number(process.env.AUTH_EXPORT_INTERVAL_S || 30);

// Each file is written beside the old one and renamed over it, so a kill mid-export leaves the
// previous export whole.
function writeAtomic(file, text) {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

let lastExported = null;
let exporting = null;

async function exportData() {
  if (!dataDir) return;
  if (exporting) return exporting;
  exporting = (async () => {
    const accounts = await get(`/identitytoolkit.googleapis.com/v1/projects/${projectId}/accounts:batchGet?maxResults=-1`);
    const config = await get(`/emulator/v1/projects/${projectId}/config`);
    if (accounts + config === lastExported) return;
    fs.mkdirSync(dataDir, { recursive: true });
    writeAtomic(path.join(dataDir, "config.json"), config);
    writeAtomic(path.join(dataDir, "accounts.json"), accounts);
    lastExported = accounts + config;
    log("INFO", `auth emulator exported users to ${dataDir}`);
  })();
  try { await exporting; } finally { exporting = null; }
}

async function main() {
  const emu = new AuthEmulator({ host, port, projectId, singleProjectMode: "warning" });
  await emu.start();
  if (dataDir && fs.existsSync(path.join(dataDir, "accounts.json"))) {
    await emu.importData(dataDir, projectId, { initiatedBy: "start" });
    log("INFO", `auth emulator imported users from ${dataDir}`);
  }
  log("INFO", `auth emulator listening on ${host}:${port}`, { projectId });
  if (dataDir && exportEveryS > 0) {
    setInterval(() => exportData().catch((e) => log("WARNING", `periodic auth export failed: ${e}`)),
      exportEveryS * 1000).unref();
  }
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    try { await exportData(); } catch (e) { log("ERROR", `auth export failed: ${e}`); }
    await emu.stop().catch(() => {});
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => { log("CRITICAL", `auth emulator failed to start: ${err && err.stack || err}`); process.exit(1); });
