"""Runs bench/workloads.py under both interpreters, interleaved, plus wrk,
and writes the results JSON, docs/benchmarks.md and the ratio plot.

Started by bench/run (which owns nginx, the certificates and the venvs);
standard library only.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS_PY = os.path.join(HERE, "workloads.py")

# name: what the row measures, how it is judged, what limits it.
#   metric   key in the workload's JSON line
#   higher   True if a larger value is better
#   wrk      (scheme, path, connections) for the machine limit, or None
#   target   (op, value) on the ratio ours/pycurl, or None
#   n        requests (or handles) in full / quick mode
WORKLOADS = [
    dict(name="easy", metric="ops_per_s", unit="req/s", higher=True,
         wrk=("http", "/tiny.bin", 1), target=(">=", 1.2), n=(10000, 3000),
         what="sequential perform() of a 100 B GET on one reused handle"),
    dict(name="multi", metric="ops_per_s", unit="req/s", higher=True,
         wrk=("http", "/small.bin", 50), target=(">=", 1.2), wrk_target=0.95, n=(20000, 20000),
         what="CurlMulti perform()/select() loop, 1 KiB GETs over 50 reused handles"),
    dict(name="socket_action", metric="ops_per_s", unit="req/s", higher=True,
         wrk=("http", "/small.bin", 50), target=(">=", 1.5), n=(20000, 20000),
         what="as multi, driven by M_SOCKETFUNCTION/M_TIMERFUNCTION and a selectors loop"),
    dict(name="download", metric="mb_per_s", unit="MB/s", higher=True,
         wrk=("http", "/big.bin", 1), target=(">=", 1.0), n=(0, 0),
         what="a 100 MiB GET through a byte-counting WRITEFUNCTION (one warm-up, then the "
              "median of 3 timed downloads on the same handle)"),
    dict(name="https_easy", metric="ops_per_s", unit="req/s", higher=True,
         wrk=("https", "/tiny.bin", 1), target=None, n=(5000, 2000),
         what="as easy, over TLS (CAINFO = the generated CA; the server offers h2 and http/1.1 "
              "by ALPN)"),
    dict(name="https_multi", metric="ops_per_s", unit="req/s", higher=True,
         wrk=("https", "/small.bin", 50), target=(">=", 1.5), n=(20000, 20000),
         what="as multi, over TLS (same server, h2 by ALPN; PIPEWAIT, so the 50 handles are "
              "streams of one connection)"),
    dict(name="h2_streams", metric="ops_per_s", unit="streams/s", higher=True,
         wrk=None, target=None, n=(5, 2),
         what="1,000 handles added at once to one multi (PIPEWAIT, M_MAX_CONCURRENT_STREAMS "
              "1000): 1,000 concurrent h2 streams of one connection, each a 64 KiB GET; N "
              "batches after a warm-up one; peak RSS is the row's memory figure"),
    dict(name="asyncio", metric="ops_per_s", unit="req/s", higher=True,
         wrk=("http", "/small.bin", 50), target=None, n=(20000, 20000),
         what="pycurl.AsyncCurlMulti: 50 asyncio tasks, one handle each, awaiting "
              "perform() in a loop (skipped where the module has no AsyncCurlMulti)"),
    dict(name="memory_idle", metric="kb_per_handle", unit="KiB/handle", higher=False,
         wrk=None, target=("<=", 1.0), n=(1000, 1000),
         what="peak RSS over baseline of 1,000 idle Curl handles (URL and WRITEFUNCTION set)"),
    dict(name="memory_inflight", metric="kb_per_transfer", unit="KiB/transfer", higher=False,
         wrk=None, target=None, n=(1000, 1000),
         what="peak RSS over baseline of one multi with 1,000 rate-limited transfers receiving"),
    dict(name="memory_10k", metric="peak_mb", unit="MB peak RSS", higher=False,
         wrk=None, target=("<=", 1.0), n=(10000, 10000),
         what="peak RSS of the whole process (interpreter included) with 10,000 rate-limited "
              "transfers receiving in one multi"),
]


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except Exception:
        return ""


def run_workload(python, w, args, n):
    cmd = [python, WORKLOADS_PY, w["name"], "--base", args.http, "--tls-base", args.https,
           "--cainfo", args.cainfo, "--big-bytes", str(args.big_bytes)]
    if n:
        cmd += ["-n", str(n)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        return {"error": "timed out after 900 s"}
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        err = (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1]
        return {"error": err[:200]}
    return json.loads(lines[-1])


UNITS = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "B": 1, "KB": 1024, "MB": 1024 ** 2,
         "GB": 1024 ** 3, "TB": 1024 ** 4}


def run_wrk(url, conns, seconds):
    cmd = ["wrk", "-t1", "-c%d" % conns, "-d%ds" % seconds, url]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout
    except subprocess.TimeoutExpired:
        return {"error": "wrk timed out"}
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    tps = re.search(r"Transfer/sec:\s+([\d.]+)([KMGT]?B)", out)
    errs = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
    if not rps:
        return {"error": "wrk: " + out.strip()[-200:]}
    r = {"ops_per_s": float(rps.group(1)), "cmd": " ".join(cmd[:-1]) + " URL"}
    if tps:
        r["mb_per_s"] = float(tps.group(1)) * UNITS[tps.group(2)] / 1e6
    if errs:
        r["warning"] = errs.group(0)
    return r


def median(values):
    return statistics.median(values) if values else None


def fmt(v, unit=""):
    if v is None:
        return "—"
    if abs(v) >= 1000:
        s = "{:,.0f}".format(v)
    elif abs(v) >= 100:
        s = "%.0f" % v
    elif abs(v) >= 10:
        s = "%.1f" % v
    else:
        s = "%.2f" % v
    return s + (" " + unit if unit else "")


def machine_details(args):
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    osname = sh(". /etc/os-release && echo \"$PRETTY_NAME\"")
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "os": osname,
        "nginx": sh("%s -v 2>&1" % shlex.quote(args.nginx)).replace("nginx version: ", ""),
        "wrk": sh("wrk -v 2>&1 | head -1").split(" Copyright")[0],
        "openssl": sh("openssl version"),
        "commit": sh("git -C %s rev-parse --short HEAD" % shlex.quote(HERE)),
        "loadavg_at_start": sh("cut -d' ' -f1-3 /proc/loadavg"),
        "pinning": ("clients and wrk on CPU %s, nginx on CPU %s" % (args.pin_client, args.pin_server)
                    if args.pin_client is not None else "none"),
    }


def python_identity(python):
    out = sh("%s -c 'import sys, pycurl; print(sys.version.split()[0]); print(pycurl.version)'"
             % shlex.quote(python))
    parts = out.splitlines()
    return {"python": parts[0] if parts else "?", "pycurl": parts[1] if len(parts) > 1 else "?"}


def summarize(w, res, have_ours):
    m = w["metric"]
    row = {"workload": w["name"], "unit": w["unit"], "higher_is_better": w["higher"]}
    for impl in ("ref", "ours"):
        vals = [r[m] for r in res[impl] if "error" not in r and m in r]
        errs = [r["error"] for r in res[impl] if "error" in r]
        rss = [r["peak_rss_kb"] for r in res[impl] if "peak_rss_kb" in r]
        row[impl] = {"values": vals, "median": median(vals), "errors": errs,
                     "peak_rss_kb": median(rss),
                     "notes": sorted({r.get("mode") or r.get("skipped") for r in res[impl]
                                      if "mode" in r or "skipped" in r})}
    wrk_key = "mb_per_s" if m == "mb_per_s" else "ops_per_s"
    wvals = [r[wrk_key] for r in res["wrk"] if wrk_key in r]
    row["wrk"] = {"values": wvals, "median": median(wvals),
                  "cmd": next((r["cmd"] for r in res["wrk"] if "cmd" in r), None),
                  "errors": [r["error"] for r in res["wrk"] if "error" in r]}
    ref, ours, lim = row["ref"]["median"], row["ours"]["median"], row["wrk"]["median"]
    row["ratio"] = ours / ref if (have_ours and ref and ours is not None) else None
    row["ref_of_wrk"] = ref / lim if (ref is not None and lim) else None
    row["ours_of_wrk"] = ours / lim if (have_ours and ours is not None and lim) else None
    met = None
    if w.get("target") and row["ratio"] is not None:
        op, val = w["target"]
        met = row["ratio"] >= val if op == ">=" else row["ratio"] <= val
        if w.get("wrk_target") and row["ours_of_wrk"] is not None:
            met = met and row["ours_of_wrk"] >= w["wrk_target"]
    row["target"] = w.get("target")
    row["wrk_target"] = w.get("wrk_target")
    row["target_met"] = met
    return row


def target_text(row):
    t = row["target"]
    if not t:
        return "—"
    s = "%s %s" % ("≥" if t[0] == ">=" else "≤", t[1])
    if row.get("wrk_target"):
        s += ", and ≥ %s of wrk" % row["wrk_target"]
    return s


def shown_path(p):
    """Paths inside the repository are shown relative to it."""
    repo = os.path.dirname(HERE)
    ap = os.path.abspath(p)
    return os.path.relpath(ap, repo) if ap.startswith(repo + os.sep) else p


def write_doc(path, png_name, summary, meta):
    have_ours = meta["have_ours"]
    ref_id, ours_id = meta["ref_identity"], meta["ours_identity"]
    L = []
    L.append("# Benchmarks: pycurl-rs against real pycurl")
    L.append("")
    L.append("Generated by `bench/run%s` on %s (commit %s). Do not edit by hand: rerun the command."
             % (" --quick" if meta["quick"] else "", meta["date"], meta["machine"]["commit"] or "?"))
    L.append("")
    intro = ("Each workload runs in a fresh interpreter against a loopback nginx (one worker; plain "
             "HTTP/1.1 with keep-alive, and TLS offering h2 and http/1.1), ours and real pycurl interleaved "
             "over %d rounds; the table gives medians. **Ratio = ours / pycurl: higher is better for "
             "throughput rows, lower is better for the memory rows.** The machine limit is wrk on "
             "the same URL (`wrk -t1 -c1` for the sequential rows, `-t1 -c50` for the concurrent "
             "ones): what this nginx on this machine serves to a C client."
             % meta["rounds"])
    L.append(intro.replace("over 1 rounds", "in 1 round"))
    L.append("")
    if meta["ours_note"] == "override":
        L.append("> **Harness check:** the *ours* column ran `%s` (BENCH_OURS_PYTHON), which imports "
                 "`%s`. Ratios here measure run-to-run noise, not pycurl-rs."
                 % (shown_path(meta["ours_python"]), ours_id["pycurl"]))
        L.append("")
    elif not have_ours:
        why = ("has no pycurl" if meta["ours_note"] == "missing"
               else "imports a pycurl that is not pycurl-rs")
        L.append("> **pycurl-rs was not measured:** `%s` %s (build it with `maturin develop "
                 "--release` into `.venv`). Only the real pycurl column and the machine limit are "
                 "reported." % (shown_path(meta["ours_python"]), why))
        L.append("")
    hdr = ["workload", "unit", "pycurl", "ours", "ours/pycurl", "target", "met",
           "wrk limit", "pycurl/wrk", "ours/wrk", "peak RSS pycurl / ours"]
    L.append("| " + " | ".join(hdr) + " |")
    L.append("|" + "|".join(["---"] * len(hdr)) + "|")
    for row in summary:
        def col(impl):
            d = row[impl]
            if d["median"] is None:
                return ("error: " + d["errors"][0].replace("|", "/")) if d["errors"] else "—"
            return fmt(d["median"])
        ratio = row["ratio"]
        ratio_s = "—" if ratio is None else "%.2f %s" % (ratio, "↑" if row["higher_is_better"] else "↓")
        met = {True: "yes", False: "**no**", None: "—"}[row["target_met"]]
        rss = lambda d: "—" if d["peak_rss_kb"] is None else "%.0f" % (d["peak_rss_kb"] / 1024)
        L.append("| " + " | ".join([
            row["workload"], row["unit"], col("ref"), col("ours") if have_ours else "—",
            ratio_s, target_text(row), met, fmt(row["wrk"]["median"]),
            "—" if row["ref_of_wrk"] is None else "%.2f" % row["ref_of_wrk"],
            "—" if row["ours_of_wrk"] is None else "%.2f" % row["ours_of_wrk"],
            "%s / %s MB" % (rss(row["ref"]), rss(row["ours"]) if have_ours else "—"),
        ]) + " |")
    L.append("")
    L.append("↑ higher is better, ↓ lower is better. Peak RSS is the process's ru_maxrss.")
    L.append("")
    L.append("![ratios](%s)" % png_name)
    L.append("")
    L.append("## Workloads")
    L.append("")
    by_name = {r["workload"]: r for r in summary}
    for w in WORKLOADS:
        row = by_name.get(w["name"])
        if row is None:
            continue
        n = w["n"][1 if meta["quick"] else 0]
        notes = ["%s: %s" % ("pycurl" if impl == "ref" else "ours", ", ".join(row[impl]["notes"]))
                 for impl in ("ref", "ours")
                 if row[impl]["notes"] and (impl == "ref" or have_ours)]
        L.append("- **%s**: %s%s.%s" % (w["name"], w["what"],
                                        (", N = {:,}".format(n)) if n else "",
                                        (" Protocol / mode seen: " + "; ".join(notes) + ".") if notes else ""))
    L.append("")
    L.append("wrk speaks HTTP/1.1 only, so on the TLS rows it measures nginx over HTTP/1.1 even "
             "where the clients negotiated h2.")
    L.append("")
    L.append("Sources: `bench/run` (setup), `bench/harness.py` (rounds, wrk, this page), "
             "`bench/workloads.py` (the workloads), `bench/plot.py` (the figure).")
    L.append("")
    # Profiling notes are written by hand in bench/notes.md and carried into every regenerated page.
    notes_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "notes.md")
    if os.path.exists(notes_path):
        with open(notes_path) as f:
            L.append(f.read().rstrip())
        L.append("")
    L.append("## Every round")
    L.append("")
    L.append("| workload | pycurl | ours | wrk |")
    L.append("|---|---|---|---|")
    for row in summary:
        vals = lambda d: ", ".join(fmt(v) for v in d["values"]) or "—"
        L.append("| %s | %s | %s | %s |" % (row["workload"], vals(row["ref"]),
                                            vals(row["ours"]) if have_ours else "—", vals(row["wrk"])))
    L.append("")
    L.append("## Machine")
    L.append("")
    m = meta["machine"]
    L.append("| | |")
    L.append("|---|---|")
    for k, label in [("nproc", "nproc"), ("cpu", "CPU"), ("memory", "memory"), ("os", "OS"),
                     ("kernel", "kernel"), ("nginx", "nginx"), ("wrk", "wrk"),
                     ("openssl", "openssl (nginx side)"), ("pinning", "CPU pinning"),
                     ("loadavg_at_start", "load average at start")]:
        L.append("| %s | %s |" % (label, m.get(k) or "?"))
    L.append("| pycurl column | Python %s, `%s` (`%s`) |"
             % (ref_id["python"], ref_id["pycurl"], shown_path(meta["ref_python"])))
    if have_ours:
        L.append("| ours column | Python %s, `%s` (`%s`) |"
                 % (ours_id["python"], ours_id["pycurl"], shown_path(meta["ours_python"])))
    L.append("")
    L.append("Other processes on the machine share its CPUs; read small differences as noise and "
             "compare the per-round values.")
    L.append("")
    with open(path, "w") as f:
        f.write("\n".join(L))


def render(results, doc, plot_python):
    """Write the doc and the PNG next to it from a results file."""
    with open(results) as f:
        data = json.load(f)
    os.makedirs(os.path.dirname(os.path.abspath(doc)), exist_ok=True)
    png = os.path.splitext(os.path.abspath(doc))[0] + ".png"
    write_doc(doc, os.path.basename(png), data["summary"], data["meta"])
    if plot_python:
        p = subprocess.run([plot_python, os.path.join(HERE, "plot.py"), results, png],
                           capture_output=True, text=True)
        if p.returncode != 0:
            print("[bench] plot failed: " + p.stderr.strip()[-500:], file=sys.stderr)


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "render":
        # python bench/harness.py render RESULTS.json DOC.md [PLOT_PYTHON]: redraw only
        render(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--http", required=True)
    ap.add_argument("--https", required=True)
    ap.add_argument("--cainfo", required=True)
    ap.add_argument("--big-bytes", type=int, required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only")
    ap.add_argument("--ref-python", required=True)
    ap.add_argument("--ours-python", required=True)
    ap.add_argument("--ours-note", default="")
    ap.add_argument("--nginx", default="nginx")
    ap.add_argument("--results", required=True)
    ap.add_argument("--doc", required=True)
    ap.add_argument("--plot-python")
    ap.add_argument("--server-pid")
    ap.add_argument("--pin-client")
    ap.add_argument("--pin-server")
    args = ap.parse_args()

    have_ours = args.ours_note in ("", "override")
    selected = WORKLOADS
    if args.only:
        names = [s.strip() for s in args.only.split(",") if s.strip()]
        unknown = set(names) - {w["name"] for w in WORKLOADS}
        if unknown:
            sys.exit("unknown workload(s): %s" % ", ".join(sorted(unknown)))
        selected = [w for w in WORKLOADS if w["name"] in names]
    wrk_seconds = 2 if args.quick else 5
    impls = [("ours", args.ours_python), ("ref", args.ref_python)] if have_ours \
        else [("ref", args.ref_python)]

    res = {w["name"]: {"ref": [], "ours": [], "wrk": []} for w in selected}
    t_start = time.time()
    for rnd in range(1, args.rounds + 1):
        wrk_cache = {}
        for w in selected:
            n = w["n"][1 if args.quick else 0]
            line = []
            for impl, py in impls:
                r = run_workload(py, w, args, n)
                res[w["name"]][impl].append(r)
                line.append("%s=%s" % ("pycurl" if impl == "ref" else impl,
                                       r.get("error") or r.get("skipped")
                                       or fmt(r.get(w["metric"]))))
            if w["wrk"]:
                scheme, path, conns = w["wrk"]
                key = w["wrk"]
                if key not in wrk_cache:
                    url = (args.http if scheme == "http" else args.https) + path
                    wrk_cache[key] = run_wrk(url, conns, wrk_seconds)
                wr = wrk_cache[key]
                res[w["name"]]["wrk"].append(wr)
                wkey = "mb_per_s" if w["metric"] == "mb_per_s" else "ops_per_s"
                line.append("wrk=%s" % (wr.get("error") or fmt(wr.get(wkey))))
            print("[bench] round %d/%d %-16s %s %s" % (rnd, args.rounds, w["name"], w["unit"],
                                                      "  ".join(line)), file=sys.stderr, flush=True)

    summary = [summarize(w, res[w["name"]], have_ours) for w in selected]
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": round(time.time() - t_start, 1),
        "rounds": args.rounds, "quick": args.quick, "have_ours": have_ours,
        "ours_note": args.ours_note, "ref_python": args.ref_python,
        "ours_python": args.ours_python,
        "ref_identity": python_identity(args.ref_python),
        "ours_identity": python_identity(args.ours_python) if have_ours else {},
        "machine": machine_details(args),
    }
    with open(args.results, "w") as f:
        json.dump({"meta": meta, "summary": summary, "raw": res}, f, indent=1)

    render(args.results, args.doc, args.plot_python)

    # console summary
    print()
    print("%-16s %12s %12s %10s %14s %10s %9s %9s" % ("workload", "pycurl", "ours", "ours/pyc",
                                                    "target", "wrk", "pyc/wrk", "ours/wrk"))
    for row in summary:
        print("%-16s %12s %12s %10s %14s %10s %9s %9s" % (
            row["workload"], fmt(row["ref"]["median"]),
            fmt(row["ours"]["median"]) if have_ours else "—",
            "—" if row["ratio"] is None else "%.2f%s" % (row["ratio"], "↑" if row["higher_is_better"] else "↓"),
            target_text(row).replace(", and ≥ 0.95 of wrk", " & .95wrk"),
            fmt(row["wrk"]["median"]),
            "—" if row["ref_of_wrk"] is None else "%.2f" % row["ref_of_wrk"],
            "—" if row["ours_of_wrk"] is None else "%.2f" % row["ours_of_wrk"]))
        for impl in ("ref", "ours"):
            for e in row[impl]["errors"][:1]:
                print("    %s error: %s" % ("pycurl" if impl == "ref" else "ours", e))
    if not have_ours:
        print("\n(ours not measured: %s is %s)" % (
            args.ours_python, "missing pycurl" if args.ours_note == "missing" else "not pycurl-rs"))
    print("(ratio ours/pycurl: ↑ higher is better, ↓ lower is better)")


if __name__ == "__main__":
    main()
