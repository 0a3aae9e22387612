#!/usr/bin/env bash
# Saves what a service's sweep found, without checkpoints, into a folder for Tests/Results:
#   sweep.json                 the sweep (spec, counts)
#   jobs.json                  every job (status, spec, result, timestamps)
#   table1.csv / table1.json   Table 1 (test metric of the dev-selected variant, mean ± std over seeds)
#   table1-all.csv             Table 1 with every variant of each method
#   table2.csv / table2.json   Table 2 (UniPELT against its submodules and their upper bound)
#   compare-<a>-vs-<b>.json    paired per-seed differences with t and bootstrap intervals (the verdict)
#   gates.csv                  mean gate per layer and submodule of the selected runs
#   jobs/<task>-k<K>-s<seed>-<method>/{metrics,gates}.csv   each finished job's curves
# Re-running refreshes everything, so a record can be saved while its sweep still runs. ANALYSIS_SERVER, when
# set, serves the tables, comparisons and gates instead of SERVER (a service of a newer build over a copy of
# the same database, when SERVER runs an older pinned binary).
#
#   Tests/Scripts/save_sweep_record.sh SERVER SWEEP_ID OUT_DIR [TOKEN]
#   e.g. Tests/Scripts/save_sweep_record.sh http://127.0.0.1:8090 swp_… Tests/Results/table1-k100-8tasks
set -euo pipefail
server="${1:?server URL}"; sweep="${2:?sweep id}"; out="${3:?output folder}"; token="${4:-${UNIPELT_TOKEN:-}}"
auth=()
[[ -n "$token" ]] && auth=(-H "Authorization: Bearer $token")
get() { curl -fsS "${auth[@]}" "$server$1"; }
analysis="${ANALYSIS_SERVER:-$server}"
analysed() { curl -fsS "${auth[@]}" "$analysis$1"; }
mkdir -p "$out/jobs"
get "/v1/sweeps/$sweep" > "$out/sweep.json"

# Every job of the sweep, following the list's cursor.
python3 - "$server" "$sweep" "$out/jobs.json" "$token" <<'EOF'
import json, sys, urllib.request
server, sweep, path, token = sys.argv[1:5]
jobs, after = [], None
while True:
    url = f"{server}/v1/jobs?sweep_id={sweep}&limit=100" + (f"&after={after}" if after else "")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    page = json.load(urllib.request.urlopen(request))
    jobs += page["data"]
    if not page.get("has_more"):
        break
    after = page["last_id"]
json.dump(jobs, open(path, "w"), indent=1, sort_keys=True)
print(f"{len(jobs)} jobs, {sum(j['status'] == 'succeeded' for j in jobs)} succeeded")
EOF

analysed "/v1/sweeps/$sweep/results?table=1&format=csv" > "$out/table1.csv"
analysed "/v1/sweeps/$sweep/results?table=1" > "$out/table1.json"
analysed "/v1/sweeps/$sweep/results?table=1&variants=all&format=csv" > "$out/table1-all.csv"
analysed "/v1/sweeps/$sweep/results?table=2&format=csv" > "$out/table2.csv"
analysed "/v1/sweeps/$sweep/results?table=2" > "$out/table2.json"
for pair in "unipelt-apl best-single" "unipelt-apl lora" "unipelt-apl adapter" "unipelt-apl prefix" "unipelt-ap best-single"; do
    set -- $pair
    # A comparison needs runs of both methods; before they exist the service answers 4xx, which is kept.
    analysed "/v1/sweeps/$sweep/compare?a=$1&b=$2&bootstrap_seed=1" > "$out/compare-$1-vs-$2.json" || true
done
analysed "/v1/sweeps/$sweep/gates?format=csv" > "$out/gates.csv" || true

python3 - "$out/jobs.json" <<'EOF' | while read -r id name; do
import json, sys
for j in json.load(open(sys.argv[1])):
    if j["status"] == "succeeded":
        print(j["id"], f"{j['task']}-k{j['k']}-s{j['seed']}-{j['method']}")
EOF
    mkdir -p "$out/jobs/$name"
    get "/v1/jobs/$id/metrics?format=csv&limit=10000" > "$out/jobs/$name/metrics.csv"
    get "/v1/jobs/$id/gates?format=csv&limit=10000" > "$out/jobs/$name/gates.csv"
done
echo "saved in $out"
