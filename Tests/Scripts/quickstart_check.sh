#!/usr/bin/env bash
# The README's set-up and quick start, pasted into a shell on a fresh clone: the
# committed HEAD is cloned into a temporary folder with no GLUE data beside it, the README's serve command
# and quick-start block are taken from README.md and run as written, except that the port is PORT instead
# of 8080 (the machine is shared) and GLUE_SOURCES points `unipelt data glue` at a loopback mirror: a
# python3 http.server serving an RTE.zip made from this checkout's RTE files. It ends when the sweep has
# completed and prints its results table; it fails if a step fails or the table lacks a method.
# Takes a release build from scratch plus the sweep (a few minutes each on 2 cores).
#
#   Tests/Scripts/quickstart_check.sh [PORT] [MIRROR_PORT]
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
port=${1:-18480} mirror_port=${2:-18481}
work="$(mktemp -d /tmp/unipelt-quickstart.XXXXXX)"
server="" mirror=""
cleanup() {
    [ -n "$server" ] && kill -TERM -- "-$server" 2>/dev/null && sleep 2
    [ -n "$mirror" ] && kill "$mirror" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

git clone -q "$repo" "$work/clone"

# The loopback mirror: RTE.zip with RTE/train.tsv and RTE/dev.tsv, and a sources file with its sha256.
rte="$repo/var/glue/RTE"
[ -f "$rte/train.tsv" ] || rte="$repo/../shared/glue/RTE"
mkdir "$work/mirror"
python3 - "$rte" "$work/mirror/RTE.zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED) as archive:
    for name in ("train.tsv", "dev.tsv"):
        archive.write(f"{sys.argv[1]}/{name}", f"RTE/{name}")
PY
python3 -m http.server --bind 127.0.0.1 --directory "$work/mirror" "$mirror_port" >"$work/mirror.log" 2>&1 &
mirror=$!
echo "rte http://127.0.0.1:$mirror_port/RTE.zip $(sha256sum "$work/mirror/RTE.zip" | cut -d' ' -f1)" >"$work/sources"
export GLUE_SOURCES="$work/sources"

# The README's shell blocks: the first under "## Set-up" (setup and serve) and the one under "## Quick start".
block() {
    python3 - "$work/clone/README.md" "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
section = text[text.index(sys.argv[2]):]
print(re.search(r"```sh\n(.*?)```", section, re.S).group(1).replace("127.0.0.1:8080", "127.0.0.1:" + "PORT"))
PY
}
serve=$(block "## Set-up")
quick=$(block "## Quick start" | sed "s/127.0.0.1:PORT/127.0.0.1:$port/g")

cd "$work/clone"
echo "== $serve   (UNIPELT_LISTEN_PORT=$port)"
UNIPELT_LISTEN_PORT=$port setsid bash -c "$serve" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1800); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    kill -0 "$server" 2>/dev/null || { cat "$work/serve.log"; echo "serve exited" >&2; exit 1; }
    sleep 1
done
curl -fs "http://127.0.0.1:$port/healthz" >/dev/null || { tail -30 "$work/serve.log"; echo "serve did not start" >&2; exit 1; }

echo "== the quick start"
bash -euo pipefail -c "$quick" | tail -40

sweep=$(python3 -c 'import json; print(json.load(open("sweep.json"))["id"])')
status() { curl -fsS "http://127.0.0.1:$port/v1/sweeps/$sweep" | python3 -c 'import json, sys; print(json.load(sys.stdin)["status"])'; }
while [ "$(status)" != completed ]; do sleep 2; done
echo "== results"
table=$(curl -fsS "http://127.0.0.1:$port/v1/sweeps/$sweep/results?format=csv")
echo "$table"
for method in lora unipelt-apl; do
    grep -q "$method" <<<"$table" || { echo "the results table has no $method row" >&2; exit 1; }
done
curl -fsS "http://127.0.0.1:$port/v1/sweeps/$sweep" | python3 -c 'import json, sys; c = json.load(sys.stdin)["counts"]; print(c); sys.exit(c.get("succeeded") != 4)'
echo "quick start OK"
