#!/usr/bin/env bash
# Checks /openapi.json of a running service, then exercises the service against it with schemathesis
# (both from PyPI, installed into a virtualenv under /tmp on first use). Start a service on a throwaway
# data folder first, e.g.
#   UNIPELT_DATA_DIR=$(mktemp -d) UNIPELT_LISTEN_PORT=18490 swift run unipelt serve
#
#   Tests/Scripts/openapi_check.sh [BASE_URL] [MAX_EXAMPLES]
set -euo pipefail
base=${1:-http://127.0.0.1:18490} examples=${2:-20}
venv=/tmp/unipelt-openapi-venv
if [ ! -x "$venv/bin/schemathesis" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q schemathesis openapi-spec-validator
fi
spec="$(mktemp /tmp/unipelt-openapi.XXXXXX.json)"
trap 'rm -f "$spec"' EXIT
curl -fsS "$base/openapi.json" -o "$spec"
"$venv/bin/python" - "$spec" <<'PY'
import json, sys
from openapi_spec_validator import validate
spec = json.load(open(sys.argv[1]))
validate(spec)
print(f"valid OpenAPI {spec['openapi']}: {sum(len(p) for p in spec['paths'].values())} operations")
PY
# Streams (stream=true) never end on their own; GETs and POSTs of the API otherwise, bounded per operation.
"$venv/bin/schemathesis" run "$spec" --url "$base" --checks all --max-examples "$examples" \
    --exclude-path-regex '/metrics$|/events$|/gates$|/content$' "${@:3}"
