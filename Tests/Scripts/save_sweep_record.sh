#!/usr/bin/env bash
# Saves what one or more sweeps of a service found, without checkpoints, into a folder for Tests/Results, merged
# with what the folder already holds (earlier sweeps of the same record, run by another service on another machine):
#   sweeps.json                every sweep saved into the folder (spec, counts), each as its service last answered
#   jobs.json                  one job per cell key: a succeeded one if any sweep has one (the first saved),
#                              else the job of the sweep saved last (queued, running, failed…)
#   jobs/<task>-k<K>-s<seed>-<method>[-<name=value>…]/{metrics,gates}.csv   each succeeded job's curves
#   table1.csv / table1.json   Table 1 (test metric of the dev-selected variant, mean ± std over seeds)
#   table1-all.csv             Table 1 with every variant of each method
#   table2.csv / table2.json   Table 2 (UniPELT against its submodules and their upper bound)
#   compare-<a>-vs-<b>.json    paired per-seed differences with t and bootstrap intervals (the verdict)
#   gates.csv                  mean gate per layer and submodule of the selected runs
# The tables come from `unipelt train --summarize OUT_DIR` (UNIPELT_BIN, default .build/release/unipelt): the
# service's own report code, over jobs.json and the gate files. Re-running refreshes everything, so a record can be
# saved while its sweeps still run. Jobs of one cell key must share their model and hyperparameters (a key names
# only the hyperparameters swept within its sweep); otherwise nothing is saved.
#
#   Tests/Scripts/save_sweep_record.sh SERVER OUT_DIR SWEEP_ID [SWEEP_ID …]      (token: UNIPELT_TOKEN)
#   e.g. Tests/Scripts/save_sweep_record.sh http://127.0.0.1:8090 Tests/Results/table1-k100-8tasks swp_…
set -euo pipefail
server="${1:?server URL}"; out="${2:?output folder}"; shift 2
(( $# > 0 )) || { echo "name at least one sweep id" >&2; exit 2; }
unipelt="${UNIPELT_BIN:-.build/release/unipelt}"
[[ -x "$unipelt" ]] || { echo "no unipelt binary at $unipelt (set UNIPELT_BIN)" >&2; exit 2; }
auth=()
[[ -z "${UNIPELT_TOKEN:-}" ]] || auth=(-H "Authorization: Bearer $UNIPELT_TOKEN")
# Everything new is gathered in a staging folder first and moved into place only once it is complete, so a save
# cut short (a server gone, a full disk) leaves the folder as it was.
staging="$out/.saving"
rm -rf "$staging"
trap 'rm -rf "$staging"' EXIT
mkdir -p "$out/jobs" "$staging/jobs"

# The sweeps and their jobs (following the list's cursor), merged with the folder's lists into the staging folder;
# printed: each succeeded job whose curves this save fetches.
python3 - "$server" "$out" "$staging" "${UNIPELT_TOKEN:-}" "$@" > "$staging/fetch.txt" <<'EOF'
import json, os, sys, urllib.request
server, out, staging, token, sweeps = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
def get(path):
    request = urllib.request.Request(server + path, headers={"Authorization": f"Bearer {token}"} if token else {})
    return json.load(urllib.request.urlopen(request))
def load(name, default):
    path = os.path.join(out, name)
    return json.load(open(path)) if os.path.exists(path) else default
def save(name, value):
    with open(os.path.join(staging, name), "w") as f:
        json.dump(value, f, indent=1, sort_keys=True)
def folder(job):
    # The rule `unipelt train --summarize` reads the gates by: task-kK-sSEED-method, then each swept name=value.
    return "-".join([f"{job['task']}-k{job['k']}-s{job['seed']}-{job['method']}"] + job["key"].split("/")[4:])

# A folder saved before it held several sweeps has one sweep.json.
known = load("sweeps.json", []) + ([load("sweep.json", None)] if os.path.exists(os.path.join(out, "sweep.json")) else [])
fetched_sweeps = [get(f"/v1/sweeps/{sweep}") for sweep in sweeps]
kept_sweeps = {}
for sweep in [s for s in known if s["id"] not in sweeps] + fetched_sweeps:
    kept_sweeps.setdefault(sweep["id"], sweep)
save("sweeps.json", list(kept_sweeps.values()))

fetched = []
for sweep in sweeps:
    after = None
    while True:
        page = get(f"/v1/jobs?sweep_id={sweep}&limit=100" + (f"&after={after}" if after else ""))
        fetched += page["data"]
        if not page.get("has_more"):
            break
        after = page["last_id"]
# Jobs saved before first, so that per cell the first succeeded job is the one saved first.
candidates = [j for j in load("jobs.json", []) if j.get("sweep_id") not in sweeps] + fetched
cells = {}
for job in candidates:
    cells.setdefault(job["key"], []).append(job)
kept = []
for key, jobs in cells.items():
    settings = {json.dumps([j.get("model"), j.get("hyperparameters")], sort_keys=True) for j in jobs}
    if len(settings) > 1:
        sys.exit(f"{key}: jobs {', '.join(j['id'] for j in jobs)} differ in model or hyperparameters "
                 f"({' vs '.join(sorted(settings))}): they are not one cell; save them into separate folders")
    succeeded = [j for j in jobs if j["status"] == "succeeded"]
    if len(succeeded) > 1:
        print(f"{key}: kept {succeeded[0]['id']}, left out {', '.join(j['id'] for j in succeeded[1:])} (also succeeded)",
              file=sys.stderr)
    kept.append(succeeded[0] if succeeded else jobs[-1])
kept.sort(key=lambda j: j["key"])
fetched_ids = {j["id"] for j in fetched}
# Every kept succeeded job needs its curves: saved before, or fetched now.
wanted = {folder(j) for j in kept if j["status"] == "succeeded"}
have = set(os.listdir(os.path.join(out, "jobs"))) | {folder(j) for j in kept if j["id"] in fetched_ids}
if wanted - have:
    sys.exit(f"no curves for {', '.join(sorted(wanted - have))}: save again from the service that ran them")
save("jobs.json", kept)
open(os.path.join(staging, "wanted.txt"), "w").write("".join(f"{name}\n" for name in sorted(wanted)))
print(f"{len(kept)} cells, {sum(j['status'] == 'succeeded' for j in kept)} succeeded", file=sys.stderr)
for job in kept:
    if job["status"] == "succeeded" and job["id"] in fetched_ids:
        print(job["id"], folder(job))
EOF
while read -r id folder; do
    mkdir -p "$staging/jobs/$folder"
    curl -fsS "${auth[@]}" "$server/v1/jobs/$id/metrics?format=csv&limit=10000" > "$staging/jobs/$folder/metrics.csv"
    curl -fsS "${auth[@]}" "$server/v1/jobs/$id/gates?format=csv&limit=10000" > "$staging/jobs/$folder/gates.csv"
done < "$staging/fetch.txt"

# Into place: the fetched curves, then the lists; last, the curves of jobs no longer kept (a cell that failed,
# then succeeded in another sweep) and a legacy sweep.json go.
for folder in "$staging"/jobs/*/; do
    [[ -d "$folder" ]] || continue
    name=$(basename "$folder")
    rm -rf "$out/jobs/$name"
    mv "$folder" "$out/jobs/$name"
done
mv "$staging/sweeps.json" "$out/sweeps.json"
mv "$staging/jobs.json" "$out/jobs.json"
for folder in "$out"/jobs/*/; do
    [[ -d "$folder" ]] || continue
    grep -qxF "$(basename "$folder")" "$staging/wanted.txt" || rm -rf "$folder"
done
rm -f "$out/sweep.json"

summarize() { "$unipelt" train --summarize "$out" "$@"; }
summarize > "$out/table1.csv"
summarize --format json > "$out/table1.json"
summarize --variants all > "$out/table1-all.csv"
summarize --table 2 > "$out/table2.csv"
summarize --table 2 --format json > "$out/table2.json"
for pair in "unipelt-apl best-single" "unipelt-apl lora" "unipelt-apl adapter" "unipelt-apl prefix" "unipelt-ap best-single"; do
    set -- $pair
    summarize --compare "$1" "$2" --bootstrap-seed 1 --format json > "$out/compare-$1-vs-$2.json"
done
summarize --gates > "$out/gates.csv"
echo "saved in $out"
