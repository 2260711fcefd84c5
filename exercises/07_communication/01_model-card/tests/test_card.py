"""Public tests for model-card: what can be checked honestly about a written model card.

The card is read as text (markdown-it-py), never run. Metric values are compared with the
grader's own evaluation of the provided model on the provided evaluation flights; clarity,
honesty and audience fit are graded by a person with rubric.md (pending until recorded).
A card's core is its measured overall results: the checks of form (content, placeholders,
threshold, slices) count only once those are stated and right, so well-formed text with no
measured number earns (almost) nothing.
"""

import re

import pytest

from grader.testing import expect

SUMMARY_WORDS = (40, 150)
MAX_GRADE = 10.0
OVERALL_METRICS = ("accuracy", "precision", "recall", "roc_auc")


@pytest.fixture(scope="module")
def card(submission, support):
    return support.read_card(submission)


@pytest.fixture(scope="module")
def measured(support, exercise_dir):
    return support.evaluation(exercise_dir)


# fails for: renamed-heading
@pytest.mark.task("headings")
@pytest.mark.points(1)
def test_required_headings_present(card, support):
    missing = [f"'{heading}' ({accepted})" for kind, (heading, accepted) in
               support.REQUIRED.items() if card.section(kind) is None]
    found = ", ".join(f"'{s.title}'" for s in card.sections) or "none"
    expect(not missing, f"{support.CARD} has no heading for: {'; '.join(missing)}. Headings "
           f"found: {found}. Use the model-card headings from the README (markdown '#' "
           "headings, one per line)")


# fails for: thin-sections, copied-readme-metrics (gated), keyword-stuffed (gated)
@pytest.mark.task("headings")
@pytest.mark.points(1)
@pytest.mark.requires("test_overall_metrics_reported")
def test_required_sections_have_content(card, support):
    thin = []
    for kind, (heading, _) in support.REQUIRED.items():
        section = card.section(kind)
        if section is None:
            thin.append(f"'{heading}' (missing)")
            continue
        words = support.word_count(section.body)
        if words < support.MIN_SECTION_WORDS:
            thin.append(f"'{section.title}' (line {section.line}: {words} words)")
    expect(not thin, f"these sections need at least {support.MIN_SECTION_WORDS} words of "
           f"content: {', '.join(thin)}. A heading with nothing under it tells the reader "
           "nothing")


# fails for: template-leftovers, keyword-stuffed (gated)
@pytest.mark.task("placeholders")
@pytest.mark.points(1)
@pytest.mark.requires("test_overall_metrics_reported")
def test_no_placeholders_left(card, support):
    found = support.placeholders(card)
    shown = "; ".join(f"line {n} ({kind}): {line!r}" for n, kind, line in found[:5])
    more = f" and {len(found) - 5} more" if len(found) > 5 else ""
    expect(not found, f"{support.CARD} still has template placeholders: {shown}{more}. Replace "
           "each with real content, or remove it if it does not apply (say why)")


# fails for: keyword-stuffed, copied-readme-metrics
@pytest.mark.task("metrics")
@pytest.mark.points(1)
def test_overall_metrics_reported(card, support, measured):
    quotes, _ = support.quoted_metrics(card)
    if not any(b.kind == "table" for b in card.blocks) and not quotes:
        expect(False, "I could not find a table in the card, and no sentence that states a "
               "metric value. Give the results in a markdown table (a header row naming the "
               "metrics, a divider row such as |---|---|, one row per slice starting with "
               "'Overall') or write e.g. 'accuracy 0.xx overall'")
    have = {q.metric for q in quotes if q.slice == support.OVERALL}
    missing = [support.METRIC_TEXT[m] for m in OVERALL_METRICS if m not in have]
    expect(not missing, f"the card does not state these metrics for all evaluation flights: "
           f"{', '.join(missing)}. Give them in a results table with a row named 'Overall' "
           "(or write e.g. 'accuracy 0.xx overall')")
    wrong = [f"{support.METRIC_TEXT[q.metric]} {q.text} in {q.where}" for q in quotes
             if q.slice == support.OVERALL and q.metric in OVERALL_METRICS
             and not q.matches(measured.results[q.slice][q.metric])]
    expect(not wrong, "these overall results are not what the model does on "
           f"data/evaluation.csv at its threshold: {'; '.join(wrong[:4])}. Measure them "
           "yourself on the evaluation flights (the handover note's figures describe the "
           "training flights); the card's other checks count once these are right")


# fails for: keyword-stuffed (gated), copied-readme-metrics (gated)
@pytest.mark.task("metrics")
@pytest.mark.points(1)
@pytest.mark.requires("test_overall_metrics_reported")
def test_every_slice_reported(card, support):
    quotes, _ = support.quoted_metrics(card)
    have = {q.slice for q in quotes if q.metric == support.SLICE_METRIC}
    missing = [support.slice_name(k) for k in support.SLICE_ALIASES
               if k != support.OVERALL and k not in have]
    expect(not missing, f"the card gives no ROC AUC for these slices: {', '.join(missing)}. "
           "Report ROC AUC for each origin airport and each departure period (one table row "
           "per slice, named e.g. 'origin = JFK' or 'evening')")


# fails for: copied-readme-metrics, keyword-stuffed
@pytest.mark.task("metrics")
@pytest.mark.points(2)
def test_quoted_metrics_match_evaluation(card, support, measured):
    quotes, unknown = support.quoted_metrics(card)
    expect(quotes, "the card states no metric values the grader can find: give them as "
           "'<metric> <number>' (e.g. 'recall 0.xx') or in a table with metric columns")
    expect(not unknown, f"table rows the grader cannot tie to a slice: {sorted(set(unknown))}. "
           "Name each row 'Overall' or after one slice ('origin = EWR', 'morning', ...)")
    coarse = [q for q in quotes if q.too_coarse()]
    expect(not coarse, "give metrics with at least two decimals (or as a percentage): "
           + "; ".join(f"{support.METRIC_TEXT[q.metric]} {q.text} in {q.where}"
                       for q in coarse[:3]))
    wrong = [q for q in quotes if not q.matches(measured.results[q.slice][q.metric])]
    lines = [f"  - {support.METRIC_TEXT[q.metric]} {q.text} ({support.slice_name(q.slice)}) "
             f"in {q.where}" for q in wrong[:6]]
    more = f"\n  - and {len(wrong) - 6} more" if len(wrong) > 6 else ""
    expect(not wrong, f"{len(wrong)} of the {len(quotes)} metric values in the card do not "
           "match the grader's evaluation of model/late_arrival_model.json on "
           "data/evaluation.csv at the precision written:\n" + "\n".join(lines) + more +
           "\n  Measure every number yourself on the evaluation flights at the model's "
           "threshold (figures from a training run describe training data, not new flights), "
           "and round, do not truncate")


# fails for: keyword-stuffed (gated), copied-readme-metrics (gated)
@pytest.mark.task("metrics")
@pytest.mark.points(1)
@pytest.mark.requires("test_overall_metrics_reported")
def test_threshold_stated(card, measured):
    value = re.escape(f"{measured.threshold:g}")
    pattern = re.compile(rf"threshold[^.]{{0,60}}?{value}(?!\d)|"
                         rf"(?<![\d.]){value}(?!\d)[^.]{{0,30}}threshold", re.I)
    near = any(pattern.search(b.text) for b in card.blocks if b.kind in ("text", "table"))
    expect(near, "the card does not state the decision threshold the metrics are measured at "
           "(the model's 'threshold' in its JSON file). Precision, recall and accuracy change "
           "with it: write e.g. 'a flight is flagged when P(late) >= <threshold>'")


# fails for: wrong-worst-slice, lists-every-slice, keyword-stuffed
@pytest.mark.task("limitations")
@pytest.mark.points(2)
def test_worst_slice_named_under_limitations(card, support, measured):
    section = card.section("limitations")
    expect(section is not None, "the card has no 'Bias, Risks, and Limitations' section to "
           "name the weakest slice in")
    worst = measured.worst_slice
    text = " ".join(b.text for b in section.blocks)
    named = sorted({support.slice_name(k) for _, k in support.slices_in(text)
                    if k != support.OVERALL})
    expect(support.names_slice(text, worst),
           f"'{section.title}' does not name the slice where the grader's per-slice evaluation "
           f"finds the model weakest (lowest ROC AUC among the origin airports and departure "
           f"periods). It names: {', '.join(named) or 'no slice'}. Compute ROC AUC per slice "
           "and say plainly where the model is least reliable")
    expect(support.slice_quotes(section, worst, measured),
           f"'{section.title}' names {', '.join(named)}, but gives no measured value for the "
           "weakest of them, so a reader cannot tell which slice is weakest or by how much. "
           "Single it out with its ROC AUC from your per-slice evaluation, in the same "
           "sentence as its name (e.g. 'for <slice> flights the ROC AUC is only 0.xx')")


# fails for: unreadable-summary, keyword-stuffed
@pytest.mark.task("summary")
@pytest.mark.points(1)
def test_summary_length(card, support, measured):
    section = card.section("summary")
    expect(section is not None, "the card has no 'Summary' section")
    words = support.word_count(section.body)
    low, high = SUMMARY_WORDS
    expect(low <= words <= high, f"the summary has {words} words; keep it between {low} and "
           f"{high}: what the model does, for whom, how well, and its main limit")
    matched, found = support.plain_figures(section.body, measured)
    expect(matched, "the summary does not say how well the model works with a measured "
           f"figure (it gives {', '.join(found[:4]) or 'no figure'}). State one overall result "
           "in plain words, measured on the evaluation flights: e.g. 'it is right about N "
           "times in 10' or 'it flags NN% of late flights'")


# fails for: unreadable-summary, keyword-stuffed (gated)
@pytest.mark.task("summary")
@pytest.mark.points(1)
@pytest.mark.requires("test_summary_length")
def test_summary_readability(card, support):
    import textstat

    section = card.section("summary")
    expect(section is not None, "the card has no 'Summary' section")
    text = section.body
    expect(support.word_count(text) >= 10, "the summary is too short to measure")
    grade = textstat.flesch_kincaid_grade(text)
    expect(grade <= MAX_GRADE, f"the summary reads at Flesch-Kincaid grade {grade:.1f}; aim "
           f"for {MAX_GRADE:g} or below so a non-specialist can follow it: shorter sentences, "
           "everyday words, one idea per sentence")
