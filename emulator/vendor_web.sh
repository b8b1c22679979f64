#!/usr/bin/env bash
# Copies the Firebase JS SDK's browser (CDN ESM) builds from the pinned npm package into web/vendor/,
# where the dashboard's import map points the gstatic URLs, and the artifact viewer's libraries (marked
# renders Markdown, DOMPurify sanitises the HTML it makes) as ES modules the import map names "marked" and
# "dompurify". No network: the files come from emulator/node_modules (installed from
# emulator/package-lock.json, where all three are pinned exactly). Idempotent.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$root/emulator/node_modules/firebase"
dest="$root/web/vendor/firebase"
files=(firebase-app.js firebase-auth.js firebase-firestore.js)

if [[ ! -f "$src/package.json" ]]; then
  echo "vendor_web: $src is missing; install the emulator's Node packages first (cd emulator && npm ci)" >&2
  exit 1
fi
version="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$src/package.json" | head -n1)"
# The dashboard's import map (web/index.html) names this exact version's gstatic URLs.
pinned="12.19.0"
if [[ "$version" != "$pinned" ]]; then
  echo "vendor_web: emulator/node_modules has firebase $version, the dashboard's import map wants $pinned" >&2
  exit 1
fi
for f in "${files[@]}"; do
  if [[ ! -f "$src/$f" ]]; then
    echo "vendor_web: $src/$f is missing (firebase $version)" >&2
    exit 1
  fi
done

mkdir -p "$dest"
for f in "${files[@]}"; do
  cp -f "$src/$f" "$dest/$f"
  if [[ -f "$src/$f.map" ]]; then
    cp -f "$src/$f.map" "$dest/$f.map"
  fi
done
printf '%s\n' "$version" > "$dest/VERSION"
echo "vendor_web: firebase $version -> ${dest#"$root"/} (${files[*]})"

# vendor_lib NAME PINNED SOURCE DEST: one ES module file of a pinned package, at the version web/index.html expects.
vendor_lib() {
  local name="$1" want="$2" from="$root/emulator/node_modules/$1/$3" to="$root/web/vendor/$1/$4" have
  if [[ ! -f "$root/emulator/node_modules/$name/package.json" ]]; then
    echo "vendor_web: emulator/node_modules/$name is missing; run (cd emulator && npm ci)" >&2
    exit 1
  fi
  have="$(sed -n 's/^  "version": *"\([^"]*\)".*/\1/p' "$root/emulator/node_modules/$name/package.json" | head -n1)"
  if [[ "$have" != "$want" ]]; then
    echo "vendor_web: emulator/node_modules has $name $have, the dashboard wants $want; run (cd emulator && npm ci)" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$to")"
  cp -f "$from" "$to"
  printf '%s\n' "$have" > "$(dirname "$to")/VERSION"
  echo "vendor_web: $name $have -> ${to#"$root"/}"
}
vendor_lib marked 13.0.3 lib/marked.esm.js marked.esm.js
vendor_lib dompurify 3.4.18 dist/purify.es.mjs purify.es.js
