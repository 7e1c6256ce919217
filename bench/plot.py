"""Draws docs/benchmarks.png from a bench/results/*.json file.

Left: ratio ours/pycurl per workload with its target (when pycurl-rs was measured).
Right: share of the machine limit (wrk) reached by each column.
Run by bench/run inside bench/.venv-plot (matplotlib).
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(results_path, png_path):
    with open(results_path) as f:
        data = json.load(f)
    meta, summary = data["meta"], data["summary"]
    have_ours = meta["have_ours"]

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5.2))

    rows = [r for r in summary if r["ratio"] is not None]
    if rows:
        names = [r["workload"] + ("" if r["higher_is_better"] else "\n(lower better)") for r in rows]
        ratios = [r["ratio"] for r in rows]
        colors = []
        for r in rows:
            met = r["target_met"]
            colors.append("#4c9a2a" if met else "#c0392b" if met is False else "#7f8c8d")
        x = range(len(rows))
        ax1.bar(x, ratios, color=colors)
        for i, r in enumerate(rows):
            ax1.text(i, r["ratio"], "%.2f" % r["ratio"], ha="center", va="bottom", fontsize=8)
            if r["target"]:
                ax1.hlines(r["target"][1], i - 0.4, i + 0.4, colors="black", linestyles="dashed")
        ax1.axhline(1.0, color="grey", linewidth=0.8)
        ax1.set_xticks(list(x))
        ax1.set_xticklabels(names, rotation=35, ha="right", fontsize=8)
        ax1.set_ylabel("ours / pycurl")
        title = "ratio ours / pycurl (dashed: target)"
        if meta["ours_note"] == "override":
            title += "\nharness check: both columns are real pycurl"
        ax1.set_title(title, fontsize=10)
    else:
        ax1.text(0.5, 0.5, "pycurl-rs not measured\n(.venv has no pycurl-rs yet)",
                 ha="center", va="center", transform=ax1.transAxes)
        ax1.set_axis_off()

    lim_rows = [r for r in summary if r["ref_of_wrk"] is not None]
    if lim_rows:
        x = list(range(len(lim_rows)))
        width = 0.4 if have_ours else 0.6
        ref = [r["ref_of_wrk"] for r in lim_rows]
        ax2.bar([i - (width / 2 if have_ours else 0) for i in x], ref, width, label="pycurl",
                color="#2e86c1")
        if have_ours:
            ours = [r["ours_of_wrk"] or 0 for r in lim_rows]
            ax2.bar([i + width / 2 for i in x], ours, width, label="ours", color="#e67e22")
        ax2.axhline(1.0, color="grey", linewidth=0.8)
        ax2.set_xticks(x)
        ax2.set_xticklabels([r["workload"] for r in lim_rows], rotation=35, ha="right", fontsize=8)
        ax2.set_ylabel("fraction of wrk on the same URL")
        ax2.set_title("share of the machine limit (wrk)", fontsize=10)
        ax2.legend(fontsize=8)

    fig.suptitle("pycurl-rs vs pycurl: %s, %d rounds%s" % (
        meta["date"], meta["rounds"], " (quick)" if meta["quick"] else ""), fontsize=11)
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
