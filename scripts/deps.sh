#!/usr/bin/env bash
# Installs what the project needs on Debian: the -dev packages it links against, gnuplot for the
# report, and a Python venv (.venv) with numpy and safetensors for the interoperability test.
# Idempotent and fast: when everything is present it touches nothing and returns at once.
#   scripts/deps.sh           install what is missing (`make deps`)
#   scripts/deps.sh --check   install nothing: print one line naming the missing Debian packages and
#                             exit 1, or print nothing and exit 0 (the Makefile runs this before
#                             building, so a fresh machine is told to run `make deps`)
# DEPS_EXTRA="pkg ..." adds package names to the list (the tests use it to make the check fail).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential pkg-config libarchive-dev libpng-dev libcjson-dev libcurl4-openssl-dev libssl-dev
          libdnnl-dev libopenblas-dev liblapacke-dev gnuplot-nox python3 python3-venv clang libclang-rt-14-dev
          slurmctld slurmd slurm-client munge ${DEPS_EXTRA:-})
python_packages=(numpy safetensors)

if [ "${1:-}" = --check ] && ! command -v dpkg-query >/dev/null; then
  exit 0   # not Debian: nothing to check against (the compiler will name what is missing)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${1:-}" = --check ]; then
  ((${#missing[@]} == 0)) && exit 0
  echo "deps: missing Debian packages: ${missing[*]}; run \`make deps\` to install them (NO_DEPS_CHECK=1 skips this check)"
  exit 1
fi
[ $# -eq 0 ] || { echo "usage: scripts/deps.sh [--check]" >&2; exit 2; }

if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian's own python3 (not whatever python3 is first on PATH) so the venv matches the packages.
if ! .venv/bin/python -c 'import numpy, safetensors' 2>/dev/null; then
  echo "deps: creating .venv with ${python_packages[*]}"
  rm -rf .venv
  /usr/bin/python3 -m venv .venv
  .venv/bin/pip install -q "${python_packages[@]}"
fi
