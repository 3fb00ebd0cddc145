#!/bin/sh
# Day one on a project that uses devctl: from a fresh clone to a running environment.
#
#   scripts/onboard.sh
#
# Safe to re-run, from any directory inside the repository. It checks Node.js, finds (or
# installs) devctl, runs `devctl doctor` and stops at the first failure with its advice,
# runs `devctl init` when the repository has no devctl.yaml yet, then `devctl up`.
#
# Environment:
#   DEVCTL_BIN  the devctl to use: an executable, or a .js entry point run with node.
#               Default: the project's own devctl (devDependency), else `devctl` on PATH,
#               else the devctl checkout this script belongs to (its dependencies installed
#               and built on first use).
#   CI          when set, nothing is asked: devctl init --no-input with the web-worker
#               preset and the directory's name, and doctor does not offer fixes.
#   ONBOARD_INIT_FLAGS  more flags for that `devctl init --no-input`, e.g. "--port 8081:80".
set -eu

FALLBACK_NODE_VERSION=20.12.0

say() {
  printf 'onboard: %s\n' "$1"
}

# stop CODE MESSAGE: explain on stderr and exit with CODE.
stop() {
  printf 'onboard: %s\n' "$2" >&2
  exit "$1"
}

is_ci() {
  case ${CI:-} in
    '' | 0 | false | FALSE | False) return 1 ;;
    *) return 0 ;;
  esac
}

# A person is there when both ends are a terminal and this is not CI.
interactive() {
  [ -t 0 ] && [ -t 1 ] && ! is_ci
}

# The first directory upward holding devctl.yaml or .git.
find_root() {
  dir=$(pwd -P)
  while :; do
    if [ -f "$dir/devctl.yaml" ] || [ -e "$dir/.git" ]; then
      printf '%s\n' "$dir"
      return 0
    fi
    [ "$dir" = / ] && return 1
    dir=$(dirname "$dir")
  done
}

# version_at_least HAVE NEED: compare dotted versions numerically (20.9.0 < 20.12.0).
version_at_least() {
  awk -v have="$1" -v need="$2" 'BEGIN {
    split(have, h, "."); split(need, n, ".")
    for (i = 1; i <= 3; i++) {
      if (h[i] + 0 > n[i] + 0) exit 0
      if (h[i] + 0 < n[i] + 0) exit 1
    }
    exit 0
  }'
}

# is_devctl_checkout DIR: DIR is devctl's own source (its package.json is named devctl).
is_devctl_checkout() {
  [ -f "$1/package.json" ] && grep -q '"name": *"devctl"' "$1/package.json"
}

# depends_on_devctl DIR: DIR's package.json has devctl in its dependencies or devDependencies.
depends_on_devctl() {
  [ -f "$1/package.json" ] && node -e 'const p = require(process.argv[1]); process.exit({...p.dependencies, ...p.devDependencies}.devctl ? 0 : 1)' "$1/package.json" 2>/dev/null
}

# newer_than FILE_OR_DIR REFERENCE: something under the first is newer than the second.
newer_than() {
  [ -n "$(find "$1" -newer "$2" -print 2>/dev/null | head -n 1)" ]
}

# npm_install DIR: install DIR's dependencies unless node_modules is up to date with the lock file.
npm_install() {
  if [ -d "$1/node_modules" ] && [ -f "$1/node_modules/.package-lock.json" ] && ! newer_than "$1/package-lock.json" "$1/node_modules/.package-lock.json"; then
    return 0
  fi
  say "installing dependencies in $1"
  if [ -f "$1/package-lock.json" ]; then
    (cd "$1" && npm ci --no-audit --no-fund) || stop 1 "npm could not install the dependencies in $1 (its message is above)."
  else
    (cd "$1" && npm install --no-audit --no-fund) || stop 1 "npm could not install the dependencies in $1 (its message is above)."
  fi
}

# Not named devctl: `command -v devctl` must find the real one on PATH, not this function.
run_devctl() {
  case $DEVCTL_BIN in
    # The flag bin/run.js's shebang gives node, for systems whose env has no -S.
    *.js) node --max-semi-space-size=4 "$DEVCTL_BIN" "$@" ;;
    *) "$DEVCTL_BIN" "$@" ;;
  esac
}

# A DNS label from the directory name, for `devctl init --name`: "My Shop" → "my-shop".
project_name() {
  name=$(basename "$1" | tr 'A-Z' 'a-z' | sed -e 's/[^a-z0-9-]/-/g' -e 's/--*/-/g' -e 's/^-//' | cut -c 1-63 | sed -e 's/-*$//')
  printf '%s\n' "${name:-app}"
}

root=$(find_root) || stop 1 "run this inside your project's repository (no devctl.yaml or .git found above $(pwd -P))."
script_dir=$(cd "$(dirname "$0")" && pwd -P)
devctl_checkout=$(dirname "$script_dir")
say "project: $root"

# 1. Node.js, as new as devctl's package.json asks (engines.node).
required=$FALLBACK_NODE_VERSION
if is_devctl_checkout "$devctl_checkout"; then
  from_package=$(sed -n 's/.*"node": *">= *\([0-9][0-9.]*\)".*/\1/p' "$devctl_checkout/package.json" | head -n 1)
  required=${from_package:-$required}
fi
command -v node >/dev/null 2>&1 || stop 1 "Node.js is not installed: install Node.js $required or newer (https://nodejs.org/en/download, or nvm: \`nvm install --lts\`), then run this again."
node_version=$(node -p 'process.versions.node')
version_at_least "$node_version" "$required" || stop 1 "Node.js $node_version is too old: devctl needs $required or newer (https://nodejs.org/en/download, or nvm: \`nvm install --lts\`)."
say "Node.js $node_version"

# 2. devctl itself.
if [ -n "${DEVCTL_BIN:-}" ]; then
  :
elif depends_on_devctl "$root"; then
  npm_install "$root"
  DEVCTL_BIN=$root/node_modules/.bin/devctl
elif command -v devctl >/dev/null 2>&1; then
  DEVCTL_BIN=$(command -v devctl)
elif is_devctl_checkout "$devctl_checkout"; then
  npm_install "$devctl_checkout"
  if [ ! -d "$devctl_checkout/dist/commands" ] || { newer_than "$devctl_checkout/src" "$devctl_checkout/dist/commands" || newer_than "$devctl_checkout/commands" "$devctl_checkout/dist/commands"; }; then
    say "building devctl in $devctl_checkout"
    (cd "$devctl_checkout" && npm run build) || stop 1 "devctl did not build (the compiler's message is above)."
  fi
  DEVCTL_BIN=$devctl_checkout/bin/run.js
else
  stop 1 "devctl is not installed: add it to the project (\`npm install --save-dev devctl\`) or install it globally (\`npm install --global devctl\`), then run this again."
fi
say "using $(run_devctl --version) ($DEVCTL_BIN)"
cd "$root"

# 3. The machine: stop at the first failing check, with the doctor's advice.
if interactive; then
  doctor_args='--fix'
else
  doctor_args=''
fi
# shellcheck disable=SC2086 # doctor_args is one word or none
run_devctl doctor $doctor_args || stop $? "stopped: \`devctl doctor\` found a problem. Do what its → lines say, then run scripts/onboard.sh again."

# 4. devctl.yaml, once per project.
if [ -f devctl.yaml ]; then
  say "devctl.yaml is there; not running devctl init"
elif interactive; then
  run_devctl init || stop $? "stopped: \`devctl init\` did not finish (see above); run scripts/onboard.sh again when ready."
else
  name=$(project_name "$root")
  say "no devctl.yaml: devctl init --preset web-worker --name $name --no-input ${ONBOARD_INIT_FLAGS:-}"
  # shellcheck disable=SC2086 # ONBOARD_INIT_FLAGS is a list of flags
  run_devctl init --preset web-worker --name "$name" --no-input ${ONBOARD_INIT_FLAGS:-} || stop $? "stopped: \`devctl init\` failed (see above)."
fi

# 5. The environment.
run_devctl up || stop $? "stopped: \`devctl up\` failed; its message above says what to do (\`devctl doctor\` checks the machine). Then run scripts/onboard.sh again."

cat <<'NEXT'

onboard: your environment is running. Next:
  devctl status     one screen: cluster, Postgres and Redis, release, pods, last migration
  devctl logs       follow every pod, including ones that crashed
  devctl upgrade    after changing values.dev.yaml or the chart
  The app: the addresses under "Reach it:" above (devctl status shows them again).
  Re-run scripts/onboard.sh any time; it only does what is missing.
NEXT
