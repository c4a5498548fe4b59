#!/usr/bin/env python3
"""Opens a faultgraph HTML report in headless Chromium (Debian's `chromium`) through the
DevTools protocol over a pipe (standard library only), saves a screenshot and the rendered
DOM, and checks that every image loaded, that the page logged no console error or exception,
and that its numbers equal the expected ones.

usage: check_html_report.py REPORT.html OUT_DIR campaign EXPECTED_DIR
       (EXPECTED_DIR holds `campaign report --json --by B` as B.json for each grouping)
       check_html_report.py REPORT.html OUT_DIR inject INJECT_FOLDER (its report.json)
"""
import base64
import fcntl
import json
import math
import os
import subprocess
import sys
import tempfile
import time

CHROMIUM = os.environ.get("FG_CHROMIUM", "/usr/bin/chromium")


class Browser:
    """Chromium with --remote-debugging-pipe: commands on fd 3, replies and events on fd 4,
    each message JSON terminated by a NUL byte."""

    def __init__(self):
        self.profile = tempfile.TemporaryDirectory(prefix="fg-chromium-")
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()

        def fds():  # fds 3 and 4 in the child, whatever numbers the pipes have here
            a = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
             "--no-first-run", "--disable-extensions", "--remote-debugging-pipe",
             "--user-data-dir=" + self.profile.name, "--window-size=1280,900", "about:blank"],
            pass_fds=(3, 4), preexec_fn=fds,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def close(self):
        try:
            self.call("Browser.close", session=False)
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.profile.cleanup()

    def _read_message(self, deadline):
        while b"\0" not in self.buffer:
            if time.time() > deadline:
                raise TimeoutError("no answer from Chromium")
            chunk = os.read(self.from_child, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the pipe (did it start? %s)" % CHROMIUM)
            self.buffer += chunk
        msg, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=True, timeout=60):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, timeout=60):
        deadline = time.time() + timeout
        for i, m in enumerate(self.events):
            if m.get("method") == method:
                return self.events.pop(i)
        while True:
            m = self._read_message(deadline)
            if m.get("method") == method:
                return m
            self.events.append(m)

    def evaluate(self, expression):
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                           "awaitPromise": True})
        if "exceptionDetails" in r:
            raise RuntimeError("page script failed: %s" % r["exceptionDetails"])
        return r["result"].get("value")


PAGE_FACTS = r"""
(async () => {
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
  const tables = {};
  for (const t of document.querySelectorAll('table[id]')) {
    const rows = {};
    for (const tr of t.querySelectorAll('tr[data-key]')) {
      rows[tr.dataset.key] = Array.from(tr.querySelectorAll('td')).map(td => ({
        text: td.textContent, value: td.dataset.value === undefined ? null : Number(td.dataset.value),
        low: td.dataset.low === undefined ? null : Number(td.dataset.low),
        high: td.dataset.high === undefined ? null : Number(td.dataset.high)}));
    }
    tables[t.id] = rows;
  }
  const spans = {};
  for (const e of document.querySelectorAll('[id][data-value]')) {
    spans[e.id] = {value: Number(e.dataset.value),
                   low: e.dataset.low === undefined ? null : Number(e.dataset.low),
                   high: e.dataset.high === undefined ? null : Number(e.dataset.high)};
  }
  return {images: imgs.map(i => ({alt: i.alt, complete: i.complete, w: i.naturalWidth,
                                   h: i.naturalHeight, inline: i.src.startsWith('data:')})),
          tables, spans, title: document.title,
          height: document.documentElement.scrollHeight};
})()
"""

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def close(a, b):
    return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)


def check_campaign(facts, expected_dir):
    outcomes = ["masked", "tolerable", "sdc1", "sdc5", "due"]
    for by in ["layer", "bit", "site", "op", "input"]:
        with open(os.path.join(expected_dir, by + ".json")) as f:
            j = json.load(f)
        rows = facts["tables"].get("by-" + by)
        check(rows is not None, "no table by-%s" % by)
        if rows is None:
            continue
        want = {r["key"]: r for r in j["rows"]}
        want["all"] = j["total"]
        check(set(rows) == set(want), "table by-%s rows %s, expected %s" % (by, sorted(rows), sorted(want)))
        for key, w in want.items():
            cells = rows.get(key)
            if cells is None:
                continue
            got = [c["value"] for c in cells[1:7]]
            exp = [w["trials"]] + [w[o] for o in outcomes]
            check(got == exp, "by-%s %s: counts %s, expected %s" % (by, key, got, exp))
            sdc, due = cells[7], cells[8]
            check(close(sdc["value"], w["sdc_rate"]) and close(sdc["low"], w["sdc_interval"][0])
                  and close(sdc["high"], w["sdc_interval"][1]),
                  "by-%s %s: SDC %s, expected %s %s" % (by, key, sdc, w["sdc_rate"], w["sdc_interval"]))
            check(close(due["value"], w["due_rate"]) and close(due["low"], w["due_interval"][0]),
                  "by-%s %s: DUE %s, expected %s" % (by, key, due, w["due_rate"]))
            text = "%.2f%%" % (100 * w["sdc_rate"])
            check(sdc["text"].startswith(text), "by-%s %s: shows %r, expected %s" % (by, key, sdc["text"], text))
    j = json.load(open(os.path.join(expected_dir, "layer.json")))
    s = facts["spans"]
    for name, key in [("sdc-rate", "sdc"), ("due-rate", "due")]:
        check(name in s and close(s[name]["value"], j[key]["rate"])
              and close(s[name]["low"], j[key]["interval"][0])
              and close(s[name]["high"], j[key]["interval"][1]),
              "%s: %s, expected %s" % (name, s.get(name), j[key]))
    check("margin" in s and close(s["margin"]["value"], j["margin"]), "margin %s vs %s" % (s.get("margin"), j["margin"]))
    check("flops-fraction" in s and close(s["flops-fraction"]["value"], j["mean_flops_fraction"]),
          "flops fraction")
    alts = [i["alt"] for i in facts["images"]]
    for want in ["SDC and DUE rate per fault site", "Outcomes per site kind", "The model coloured by SDC rate"]:
        check(want in alts, "no image %r (have %s)" % (want, alts))


def check_inject(facts, folder):
    r = json.load(open(os.path.join(folder, "report.json")))
    s = facts["spans"]
    check(close(s.get("golden-accuracy", {}).get("value"), r["golden"]["top1"]), "golden accuracy")
    rows = facts["tables"].get("entries", {})
    for e in r["entries"]:
        cells = rows.get(str(e["index"]))
        check(cells is not None, "entry %d missing" % e["index"])
        if cells is None or "error" in e:
            continue
        check(close(cells[3]["value"], e["faulty"]["top1"]), "entry %d accuracy" % e["index"])
        check(close(cells[4]["value"], e["accuracy_drop"]), "entry %d drop" % e["index"])
        check(cells[5]["value"] == e["changed_predictions"], "entry %d changed" % e["index"])
        check(cells[6]["value"] == e["faulty"]["non_finite_outputs"], "entry %d non-finite" % e["index"])
    ran = [e for e in r["entries"] if "error" not in e]
    # The accuracy chart, the golden confusion matrix and one per entry, the model pictures.
    check(len(facts["images"]) >= 2 + 2 * len(ran), "%d images for %d entries" % (len(facts["images"]), len(ran)))


def main():
    report, out_dir, mode, expected = sys.argv[1:5]
    os.makedirs(out_dir, exist_ok=True)
    b = Browser()
    try:
        target = b.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        b.session = b.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                           session=False)["sessionId"]
        for domain in ["Page", "Runtime", "Log"]:
            b.call(domain + ".enable")
        b.call("Page.navigate", {"url": "file://" + os.path.abspath(report)})
        b.wait_event("Page.loadEventFired")
        facts = b.evaluate(PAGE_FACTS)
        shot = b.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        with open(os.path.join(out_dir, "screenshot.png"), "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        with open(os.path.join(out_dir, "dom.html"), "w") as f:
            f.write(b.evaluate("document.documentElement.outerHTML"))
        time.sleep(0.2)
        b.call("Runtime.evaluate", {"expression": "0"})  # collect the events queued so far
        errors = [m for m in b.events if m.get("method") == "Runtime.exceptionThrown"
                  or (m.get("method") == "Runtime.consoleAPICalled" and m["params"]["type"] in ("error", "assert"))
                  or (m.get("method") == "Log.entryAdded" and m["params"]["entry"]["level"] == "error")]
    finally:
        b.close()
    check(not errors, "console errors: %s" % json.dumps(errors)[:2000])
    check(facts["images"], "the page has no images")
    for i in facts["images"]:
        check(i["complete"] and i["w"] > 0 and i["h"] > 0, "image %r did not load: %s" % (i["alt"], i))
        check(i["inline"], "image %r is not embedded" % i["alt"])
    if mode == "campaign":
        check_campaign(facts, expected)
    else:
        check_inject(facts, expected)
    if failures:
        for f in failures:
            print("FAIL:", f)
        return 1
    print("ok: %d images loaded, %d tables checked, no console errors; screenshot and DOM in %s"
          % (len(facts["images"]), len(facts["tables"]), out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
