"""Draws bench/results/chart.png from results.json: one panel per scenario, a bar per server."""
import json
import math
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# Reference bars (socat, the floor) in light grey: ceilings, not competitors.
COLOURS = {"indi-node": "#2b8a3e", "indiserver": "#868e96", "socat": "#adb5bd", "floor": "#adb5bd"}

report = json.load(open(sys.argv[1]))
scenarios = [(name, s) for name, s in report["scenarios"].items() if s["summary"]]
columns = min(4, len(scenarios))
rows = math.ceil(len(scenarios) / columns)
fig, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 3.4 * rows), squeeze=False)
for ax in axes.flat[len(scenarios):]:
    ax.axis("off")
for ax, (name, scenario) in zip(axes.flat, scenarios):
    metric = scenario["metrics"][0]
    servers = list(scenario["summary"].keys())
    values = [scenario["summary"][s][metric["key"]] for s in servers]
    bars = ax.bar(servers, values, color=[COLOURS.get(s, "#4c6ef5") for s in servers])
    base = scenario["summary"].get(scenario["baseline"], {}).get(metric["key"])
    for bar, server, value in zip(bars, servers, values):
        label = f"{value:.3g}"
        if base and server != scenario["baseline"]:
            ratio = base / value if metric.get("lowerIsBetter") else value / base
            label += f"\n{ratio:.1f}×"
        ax.annotate(label, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom", fontsize=8)
    ax.set_title("\n".join(textwrap.wrap(scenario["title"], 42)), fontsize=8)
    ax.set_ylabel(f"{metric['label']} ({metric['unit']})" + (" — lower is better" if metric.get("lowerIsBetter") else ""), fontsize=8)
    ax.tick_params(axis="x", labelsize=7, rotation=20)
    ax.margins(y=0.25)
fig.suptitle(f"indi-node vs indiserver ({report['machine']}, median of {report['rounds']} rounds, {report['date'][:10]})", fontsize=10)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=110)
print(f"chart: {sys.argv[2]}")
