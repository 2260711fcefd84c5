"""Numbers and a chart for a one-slide decision: should the fraud-screening model go live?

The inputs are the dictionary in data/inputs.json (read it with json.load). The grader calls both
functions with that file's contents and with fresh scenarios of the same shape, so compute from
the arguments: never paste numbers from the file into the code.

Only the standard library, numpy and matplotlib are needed.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

OPTIONS = (("current_rules", "Today's rules"), ("model", "Screening model"))


def error_cost_per_1000(counts: dict[str, int], costs: dict[str, float]) -> float:
    """Task 1 (`cost`): the expected cost of errors per 1,000 orders, in US dollars.

    counts: what one screening option did on an evaluation sample, e.g.
        {"caught": 22, "false_alarms": 164, "missed": 38, "cleared": 3776}
        (caught fraud, honest orders held by mistake, fraud let through, honest orders passed).
    costs: US dollars per error, e.g. {"missed": 240.0, "false_alarm": 12.0}.
    Only the two kinds of error cost money here. Add up their cost over the sample, divide by
    the number of orders in the sample (all four counts together) and scale to 1,000 orders.
    Return a float.
    """
    orders = sum(counts[k] for k in ("caught", "false_alarms", "missed", "cleared"))
    if orders <= 0:
        raise ValueError("the counts add up to no orders")
    cost = counts["missed"] * costs["missed"] + counts["false_alarms"] * costs["false_alarm"]
    return float(cost / orders * 1000)


def make_chart(inputs: dict[str, Any]) -> Figure:
    """Task 7 (`chart`): one chart for one slide, returned as a matplotlib Figure.

    inputs: the whole dictionary of data/inputs.json (or a fresh one of the same shape).
    Show the cost of errors per 1,000 orders for today's rules and for the model, computed with
    error_cost_per_1000 from ``inputs``. The grader inspects the Figure: a title of three words
    or more, both axes labelled, the axis with the numbers naming its unit, one panel, at most
    five series, every text at least 12 pt, and bars (or points) whose values are those costs.
    Create the figure with ``fig, ax = plt.subplots(...)`` and ``return fig``; do not call
    ``plt.show()``.
    """
    costs = inputs["costs_usd"]
    names = [label for _, label in OPTIONS]
    values = [error_cost_per_1000(inputs["evaluation"][key], costs) for key, _ in OPTIONS]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    bars = ax.bar(names, values, color=["#9e9e9e", "#1f77b4"], width=0.55)
    ax.bar_label(bars, labels=[f"${v:,.0f}" for v in values], fontsize=14, padding=4)
    saving = values[0] - values[1]
    verb = "cuts" if saving >= 0 else "raises"
    ax.set_title(f"The model {verb} the cost of errors by ${abs(saving):,.0f} per 1,000 orders",
                 fontsize=16)
    ax.set_ylabel("Cost of errors (USD per 1,000 orders)", fontsize=13)
    ax.set_xlabel("Screening option", fontsize=13)
    ax.tick_params(labelsize=13)
    ax.set_ylim(0, max(values) * 1.2)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
