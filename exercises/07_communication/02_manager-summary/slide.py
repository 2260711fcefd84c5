"""Numbers and a chart for a one-slide decision: should the fraud-screening model go live?

The inputs are the dictionary in data/inputs.json (read it with json.load). The grader calls both
functions with that file's contents and with fresh scenarios of the same shape, so compute from
the arguments: never paste numbers from the file into the code.

Only the standard library, numpy and matplotlib are needed.
"""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure


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
    raise NotImplementedError


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
    raise NotImplementedError
