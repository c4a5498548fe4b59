#!/usr/bin/env bash
# The HTML reports in a real browser: a small real campaign and an inject run, each
# reported by `faultgraph report`, opened in headless Chromium (check_html_report.py):
# every image loads, no console errors, the numbers equal `campaign report --json` and the
# inject run's report.json. Also the chart files (--images) and the command's bad input.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fg=${FG_BINARY:?}
py=${FG_PYTHON:-/usr/bin/python3}
fmnist=/usr/share/datasets/fashion-mnist
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fail=0
# shellcheck source=../cli/check.sh
source "$here/../cli/check.sh"
keep=${FG_REPORT_ARTIFACTS:-$tmp/browser}  # screenshots and DOMs land here

cat >spec.yml <<'YML'
model: resnet20
dataset: fashion-mnist
inputs: {count: 4, order: random, correct_only: false}
targets:
  - {op: Conv}
  - {op: Conv, site: weight}
  - {site: model_input}
fault: {model: bit_flip}
sampling: {trials: 600}
seed: 11
YML
check campaign_run 0 "" -- "$fg" campaign run spec.yml --db c.db
check report_campaign 0 "" -- "$fg" report c.db -o "my report's.html" --images charts
mkdir -p expected
for by in layer bit site op input; do
  "$fg" campaign report c.db --json --by "$by" >"expected/$by.json" || { echo "FAIL report --json $by"; fail=1; }
done
"$py" "$here/check_html_report.py" "my report's.html" "$keep/campaign" campaign expected || fail=1
for f in by_layer by_bit by_op by_site_kind; do
  for ext in png svg; do
    [ -s "charts/$f.$ext" ] || { echo "FAIL chart file charts/$f.$ext missing"; fail=1; }
  done
done
[ -s charts/model_sdc.svg ] || { echo "FAIL charts/model_sdc.svg missing"; fail=1; }
grep -q "SDC rate" charts/model_sdc.svg || { echo "FAIL the model picture has no legend"; fail=1; }

# The model file gone: the report still comes, says why the picture is missing.
cp spec.yml spec2.yml
"$py" - <<'PY'
import sqlite3
db = sqlite3.connect("c.db")
db.execute("update campaign set model = 'gone/model.onnx'")
db.commit()
PY
check report_without_model 0 "pass --model FILE" -- "$fg" report c.db -o nomodel.html
grep -q 'id="model-note"' nomodel.html || { echo "FAIL no model note"; fail=1; }

oneline=0 check inject_run 2 "" -- "$fg" inject -m seed_inception -c "$here/../../examples/seed_faults.yml" \
  -d "$fmnist" --limit 48 -o inj
check report_inject 0 "" -- "$fg" report inj -o inject.html
"$py" "$here/check_html_report.py" inject.html "$keep/inject" inject inj || fail=1

# Activation maps (the seed's visualization): one PNG per layer, golden or with a fault.
check activations 0 "" -- "$fg" activations -m seed_inception -d "$fmnist" -k 3 -o act
[ "$(ls act/*.png | wc -l)" -eq 17 ] || { echo "FAIL activations: $(ls act | wc -l) pictures, wanted 17"; fail=1; }
check activations_fault 0 "" -- "$fg" activations -m seed_inception -d "$fmnist" -k 3 \
  -c "$here/../../examples/seed_faults.yml" -e 4 --layers 'conv2d_2,concatenate' --colormap viridis -o actf
grep -q "conv2d_2 .*fault site" out || { echo "FAIL activations_fault: no fault site line"; cat out; fail=1; }
check activations_bad_entry 2 "bit_number: 64" -- "$fg" activations -m seed_inception -d "$fmnist" \
  -c "$here/../../examples/seed_faults.yml" -e 5 -o actf
check activations_bad_layers 2 "--layers nope: matches no node" -- "$fg" activations -m seed_inception \
  -d "$fmnist" --layers nope -o actf
check activations_bad_index 2 "--index 99999: the test split" -- "$fg" activations -m seed_inception \
  -d "$fmnist" -k 99999 -o actf

# Training curves: CSV and charts beside the model, rewritten after each epoch.
check train_curves 0 "" -- "$fg" train -m seed_inception -d "$fmnist" --limit 128 --epochs 2 -o tr/m.onnx
"$py" - <<'PY' || fail=1
import csv, re
rows = list(csv.DictReader(open("tr/m.history.csv")))
assert [r["epoch"] for r in rows] == ["1", "2"], rows
printed = re.findall(r"epoch (\d+): .* test accuracy ([0-9.]+)%", open("out").read())
assert len(printed) == 2, printed
for r, (e, acc) in zip(rows, printed):
    assert r["epoch"] == e and abs(100 * float(r["test_accuracy"]) - float(acc)) < 0.006, (r, acc)
assert open("tr/m.curves.png", "rb").read(8) == b"\x89PNG\r\n\x1a\n"
assert "<svg" in open("tr/m.curves.svg").read()
print("ok   training curves (CSV equals the printed epochs; PNG, SVG)")
PY

check report_missing_input 2 "nothing.db: no such file" -- "$fg" report nothing.db -o x.html
echo "not sqlite" >junk.db
check report_not_a_database 2 "junk.db" -- "$fg" report junk.db -o x.html
mkdir -p empty
check report_empty_folder 2 "no report.json" -- "$fg" report empty -o x.html
check report_bad_out 2 "/proc" -- "$fg" report c.db -o /proc/x.html
[ ! -e x.html ] || { echo "FAIL a failed report left x.html"; fail=1; }
exit $fail
