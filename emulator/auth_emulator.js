// Runs the Firebase Auth emulator from the pinned firebase-tools package (emulator/package.json).
//
// `firebase emulators:start --only auth` does the same but first spends ~9 s on network lookups
// that fail offline; this starts the same AuthEmulator class directly. It imports users from
// AUTH_DATA_DIR on start and exports them there on SIGTERM, so `make up` after `make down` keeps
// accounts in step with the Firestore data that refers to them.
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

async function exportData() {
  if (!dataDir) return;
  const tmp = `${dataDir}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  fs.writeFileSync(path.join(tmp, "accounts.json"),
    await get(`/identitytoolkit.googleapis.com/v1/projects/${projectId}/accounts:batchGet?maxResults=-1`));
  fs.writeFileSync(path.join(tmp, "config.json"), await get(`/emulator/v1/projects/${projectId}/config`));
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.renameSync(tmp, dataDir);
  log("INFO", `auth emulator exported users to ${dataDir}`);
}

async function main() {
  const emu = new AuthEmulator({ host, port, projectId, singleProjectMode: "warning" });
  await emu.start();
  if (dataDir && fs.existsSync(path.join(dataDir, "accounts.json"))) {
    await emu.importData(dataDir, projectId, { initiatedBy: "start" });
    log("INFO", `auth emulator imported users from ${dataDir}`);
  }
  log("INFO", `auth emulator listening on ${host}:${port}`, { projectId });
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
