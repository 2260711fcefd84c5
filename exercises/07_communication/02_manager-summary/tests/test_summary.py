"""Public tests for manager-summary: the cost function, SUMMARY.md as text, the slide chart.

SUMMARY.md is read (markdown-it-py), never run. The chart is drawn in the worker by the course
harness, which returns a plain description; the checks below judge what a reader would see.
The summary's core is the saving per 1,000 orders: its checks of form (length, recommendation,
jargon, readability) count only once that figure is stated and right, so fluent text with no
verifiable number earns nothing. Whether the summary persuades the right
way and fits its reader is graded by a person with rubric.md (pending until recorded).
"""

import pytest

from grader.testing import expect


@pytest.fixture(scope="module")
def summary(submission, support):
    return support.read_summary(submission)


@pytest.fixture(scope="module")
def inputs(support, exercise_dir):
    return support.load_inputs(exercise_dir)


@pytest.fixture(scope="module")
def chart(submission, inputs):
    return submission.harness.describe_chart(inputs)


# fails for: keyword-stuffed
@pytest.mark.task("cost")
@pytest.mark.points(1)
@pytest.mark.parametrize("option", ["current_rules", "model"])
def test_cost_on_visible_inputs(submission, support, inputs, option):
    support.check_cost(submission, inputs["evaluation"][option], inputs["costs_usd"],
               f"data/inputs.json ({option})")


# fails for: long-summary, keyword-stuffed (gated), wrong-impact (gated)
@pytest.mark.task("length")
@pytest.mark.points(1)
@pytest.mark.requires("test_saving_per_1000_quoted")
def test_summary_length(summary, support):
    words = support.word_count(support.plain_text(summary))
    expect(words <= support.MAX_WORDS, f"{support.SUMMARY} has {words} words; a manager reads "
           f"at most {support.MAX_WORDS}. Keep the decision, the money, the main risk and the "
           "recommendation; cut method details and repetition")
    expect(words >= support.MIN_WORDS, f"{support.SUMMARY} has only {words} words: say what is "
           "decided, what it is worth, what could go wrong and what you recommend")
    todo = support.TODO.search(support.visible_source(summary))
    expect(todo is None, f"{support.SUMMARY} still has a template placeholder: "
           f"{todo.group(0) if todo else ''!r}")


# fails for: keyword-stuffed (gated), wrong-impact (gated)
@pytest.mark.task("recommendation")
@pytest.mark.points(1)
@pytest.mark.requires("test_saving_per_1000_quoted")
def test_exactly_one_recommendation(summary, support):
    found = support.recommendations(summary)
    expect(len(found) == 1, f"{support.SUMMARY} has {len(found)} 'Recommendation:' sentences; "
           "write exactly one, so the reader knows which sentence is the ask")


# fails for: keyword-stuffed (gated), wrong-impact (gated)
@pytest.mark.task("recommendation")
@pytest.mark.points(1)
@pytest.mark.requires("test_saving_per_1000_quoted")
def test_recommendation_states_a_decision(summary, support):
    found = support.recommendations(summary)
    expect(found, f"{support.SUMMARY} has no sentence starting with 'Recommendation:'")
    sentence = found[0]
    words = support.word_count(sentence)
    expect(3 <= words <= 40, f"the 'Recommendation:' sentence has {words} words; make it one "
           "sentence of 3 to 40 words that says what to do")
    expect(support.DECISION.search(sentence), f"the recommendation {sentence[:120]!r} does not "
           "say what to do: name the action (switch on, pilot, wait, do not deploy...)")


# fails for: wrong-impact, no-amounts, keyword-stuffed
@pytest.mark.task("impact")
@pytest.mark.points(2)
def test_saving_per_1000_quoted(summary, support, inputs):
    impact = support.impact(inputs)
    amounts = support.money_amounts(summary)
    expect(amounts, f"{support.SUMMARY} quotes no money amount: state what the decision is "
           "worth in US dollars per 1,000 orders (e.g. '$123 per 1,000 orders')")
    coarse = [a.text for a in amounts if a.significant < 2 and a.matches(impact.saving)]
    match = [a for a in amounts if a.significant >= 2 and a.matches(impact.saving)]
    expect(match, f"none of the amounts in {support.SUMMARY} ({', '.join(a.text for a in amounts)})"
           " is the expected saving per 1,000 orders computed from data/inputs.json at the "
           "precision written" + (f" ({', '.join(coarse)} is too rounded: give at least two "
                                  "significant digits)" if coarse else "") +
           ". Compute the cost of errors per 1,000 orders with today's rules and with the "
           "model; the saving is the difference")


# fails for: wrong-impact, no-amounts (gated), keyword-stuffed (gated)
@pytest.mark.task("impact")
@pytest.mark.points(1)
@pytest.mark.requires("test_saving_per_1000_quoted")
def test_every_amount_is_derivable(summary, support, inputs):
    derivable = support.impact(inputs).derivable()
    given = [float(v) for v in inputs["costs_usd"].values()]
    stray = [a.text for a in support.money_amounts(summary)
             if not any(a.matches(v) for v in [*derivable.values(), *given])]
    expect(not stray, f"{support.SUMMARY} quotes {', '.join(stray)}, which the grader cannot "
           "derive from data/inputs.json. Every dollar figure should be one of: "
           f"{', '.join(derivable)}, or an input cost; check the arithmetic and the rounding")


# fails for: unexplained-jargon, keyword-stuffed (gated), wrong-impact (gated)
@pytest.mark.task("jargon")
@pytest.mark.points(2)
@pytest.mark.requires("test_saving_per_1000_quoted")
def test_jargon_absent_or_explained(summary, support):
    problems = support.jargon_problems(summary)
    expect(not problems, f"technical terms a manager may not know, used without an "
           f"explanation: {'; '.join(problems[:4])}. Drop the term or explain it at its first "
           "use, e.g. 'recall (the share of fraud we catch)'")


# fails for: keyword-stuffed (gated), wrong-impact (gated)
@pytest.mark.task("readability")
@pytest.mark.points(1)
@pytest.mark.requires("test_saving_per_1000_quoted")
def test_summary_readability(summary, support):
    import textstat

    text = support.plain_text(summary)
    expect(support.word_count(text) >= 10, "the summary is too short to measure")
    grade = textstat.flesch_kincaid_grade(text)
    expect(grade <= support.MAX_GRADE, f"{support.SUMMARY} reads at Flesch-Kincaid grade "
           f"{grade:.1f}; aim for {support.MAX_GRADE:g} or below: shorter sentences and "
           "everyday words")


# fails for: keyword-stuffed (gated), invisible-bars (gated)
@pytest.mark.task("chart")
@pytest.mark.points(1)
@pytest.mark.requires("test_chart_shows_the_costs")
def test_chart_has_title(chart, support):
    axes = support.figure_axes(chart)
    titles = [t["text"] for t in chart["suptitle"]] + [t["text"] for ax in axes
                                                      for t in ax["title"]]
    expect(any(len(t.split()) >= 3 for t in titles), "the chart has no title of at least three "
           "words: give it one that states the message (ax.set_title(...))")


# fails for: chart-defaults-pasted-values, keyword-stuffed (gated)
@pytest.mark.task("chart")
@pytest.mark.points(1)
@pytest.mark.requires("test_chart_shows_the_costs")
def test_chart_axis_labels_with_units(chart, support):
    axes = support.figure_axes(chart)
    for i, ax in enumerate(axes):
        where = f"axes {i + 1}" if len(axes) > 1 else "the chart"
        for role in ("xlabel", "ylabel"):
            expect(ax[role]["text"].strip(), f"{where} has no {role[0]}-axis label: name what "
                   f"the axis shows (ax.set_{role}(...))")
        axis = support.value_axis(ax)
        label = ax[f"{axis}label"]["text"]
        expect(support.UNIT.search(label), f"the {axis}-axis label {label!r} names no unit: the "
               "axis with the numbers needs one, e.g. 'Cost of errors (USD per 1,000 orders)'")


# fails for: keyword-stuffed (gated), invisible-bars (gated)
@pytest.mark.task("chart")
@pytest.mark.points(1)
@pytest.mark.requires("test_chart_shows_the_costs")
def test_chart_is_simple(chart, support):
    axes = support.figure_axes(chart)
    expect(len(axes) == 1, f"the chart has {len(axes)} panels (axes); a slide chart makes one "
           "point: draw one")
    ax = axes[0]
    expect(ax["name"] == "rectilinear", f"the chart uses a {ax['name']!r} projection; use a "
           "plain 2-D chart (3-D and polar charts distort the values)")
    n = support.series_count(ax)
    expect(1 <= n <= support.MAX_SERIES, f"the chart draws {n} series (bar groups, lines, "
           f"scatters, areas); a slide chart shows 1 to {support.MAX_SERIES}")


# fails for: chart-defaults-pasted-values, invisible-bars (gated)
@pytest.mark.task("chart")
@pytest.mark.points(1)
@pytest.mark.requires("test_chart_shows_the_costs")
def test_chart_fonts_readable(chart, support):
    support.figure_axes(chart)
    small = [f"{role} {t['text'][:30]!r} at {t['size']:g} pt"
             for role, t in support.chart_texts(chart) if t["size"] < support.MIN_FONT_PT]
    expect(not small, f"text too small to read on a slide (under {support.MIN_FONT_PT:g} pt): "
           f"{'; '.join(small[:4])}{' ...' if len(small) > 4 else ''}. Set fontsize= on the "
           "title and labels and ax.tick_params(labelsize=...)")


# fails for: invisible-bars, keyword-stuffed
@pytest.mark.task("chart")
@pytest.mark.points(1)
def test_chart_shows_the_costs(chart, support, inputs):
    support.check_chart_data(chart, inputs, "data/inputs.json")
