"""Public tests for feature-extraction: pooling, embeddings, the logistic-regression head and
semantic search.

Pooling and search are checked on random arrays chosen by this run's seed; embeddings against
sentence-transformers (run by the grader in its own process, never beside your code); the saved
head on the validation split, with the
labels kept in this process.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.testing import expect

EMBED_TOLERANCE = 1e-5
PUBLIC_MIN_ACCURACY = 0.72  # the reference head scores about 0.77 on these snippets


# fails for: no-mask-pooling, lazy
@pytest.mark.task("pooling")
@pytest.mark.points(2)
def test_mean_pool_ignores_padding(submission, support, grading_seed):
    emb, mask = support.padded_batch(grading_seed)
    got = submission.harness.pooled(emb, mask)
    call = "mean_pool(<5 texts x 11 positions x 6 dims>, attention_mask)"
    value = got["value"]
    expect(value is not None, f"{call} returned a {got['type']}; return a tensor")
    expect(value.shape == (5, 6), f"{call} returned shape {value.shape}; expected (5, 6): one "
           "vector per text (average over the positions, dim=1)")
    want = support.masked_mean(emb, mask)
    expect(np.allclose(value, want, atol=1e-5), support.pooling_mistake(value, emb, mask))


@pytest.fixture(scope="module")
def embeddings(submission, support, grading_seed):
    texts, _ = support.sample("validation", 20, grading_seed)
    texts = ["Dull.", *texts[:10], "An unexpectedly tender film.", *texts[10:]]
    got = submission.harness.embedded(texts, 8)
    return texts, got, support.reference_embeddings(texts)


# fails for: patched-encode, no-mask-pooling, lazy
@pytest.mark.task("embed")
@pytest.mark.points(2)
def test_embed_matches_sentence_transformers(embeddings):
    texts, got, reference = embeddings
    call = f"embed(<{len(texts)} snippets>, batch_size=8)"
    together = got["together"]
    expect(together is not None and together.shape == reference.shape, f"{call} returned "
           f"{got['type']} of shape {getattr(together, 'shape', '?')}; expected "
           f"{reference.shape}: one 384-dimensional row per text")
    norms = np.linalg.norm(together, axis=1)
    expect(np.allclose(norms, 1.0, atol=1e-4), f"{call}: the rows have lengths from "
           f"{norms.min():.3f} to {norms.max():.3f}; sentence-transformers' all-MiniLM-L6-v2 "
           "ends with a Normalize step: divide each pooled vector by its L2 norm")
    alone_ok = got["alone"] is not None and np.abs(got["alone"] - reference[:4]).max() < \
        EMBED_TOLERANCE
    worst = float(np.abs(together - reference).max())
    expect(worst < EMBED_TOLERANCE or not alone_ok, f"{call}: texts embedded alone match "
           f"sentence-transformers, but in a padded batch they differ by up to {worst:.2g}: "
           "your pooling ignores the padding mask. Pool with mean_pool(hidden, "
           "attention_mask) so [PAD] positions do not count")
    expect(worst < EMBED_TOLERANCE, f"{call} differs from sentence-transformers' embeddings by "
           f"up to {worst:.2g} (allowed {EMBED_TOLERANCE:g}): use MiniLM's last hidden state, "
           "mean-pool it over real tokens, then L2-normalise; tokenize with padding=True and "
           "truncation=True")


# fails for: lazy
@pytest.mark.task("head")
@pytest.mark.points(1)
def test_fit_head_is_a_logistic_regression(submission, grading_seed):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(grading_seed)
    x = rng.normal(size=(300, 12))
    w = rng.normal(size=12)
    y = (x @ w + rng.normal(scale=1.0, size=300) > 0.3).astype(np.int64)
    head = submission.harness.fitted_head(x, y, 0.5)
    call = "fit_head(<300 x 12 features>, labels, C=0.5)"
    expect(isinstance(head, dict) and {"coef", "intercept", "classes"} <= set(head),
           f"{call} returned a {type(head).__name__}; return a dict with 'coef', 'intercept' "
           "and 'classes' (plain lists and floats), so it can be saved as JSON")
    coef = np.asarray(head["coef"], dtype=np.float64).ravel()
    expect(coef.shape == (12,), f"{call} returned {coef.size} coefficients; one per feature "
           "(clf.coef_[0]) was expected")
    want = LogisticRegression(C=0.5, max_iter=1000).fit(x, y)
    expect(np.allclose(coef, want.coef_[0], atol=0.02, rtol=0.02) and
           abs(float(head["intercept"]) - float(want.intercept_[0])) < 0.02,
           f"{call} does not give a logistic regression's coefficients for C=0.5: use "
           "LogisticRegression(C=C, max_iter=1000).fit(features, labels) and return coef_[0], "
           "intercept_[0] and classes_")


# fails for: lazy
@pytest.mark.task("head")
@pytest.mark.points(1)
def test_predict_head_applies_the_head(submission, support, grading_seed):
    rng = np.random.default_rng(grading_seed + 1)
    head = {"coef": rng.normal(size=support.DIM).tolist(), "intercept": 0.1,
            "classes": [0, 1]}
    x = rng.normal(size=(50, support.DIM)).astype(np.float32)
    got = np.asarray(submission.harness.head_predictions(head, x))
    want = support.apply_head(head, x)
    expect(got.shape == (50,), f"predict_head(head, <50 x 384 features>) returned shape "
           f"{got.shape}; one label per row was expected")
    expect(np.array_equal(got, want), "predict_head(head, features) must return classes[1] "
           "where features @ coef + intercept > 0 and classes[0] elsewhere")


# fails for: majority-class, lazy
@pytest.mark.task("head")
@pytest.mark.points(1)
def test_saved_head_accuracy_on_validation(submission, support):
    head = support.read_head(submission)
    features, labels = support.lazy_features("validation", 300)()
    predicted = support.apply_head(head, features)
    accuracy = float((predicted == labels).mean())
    expect(accuracy >= PUBLIC_MIN_ACCURACY, support.accuracy_message(
        predicted, labels, "validation snippets", PUBLIC_MIN_ACCURACY))


# fails for: dot-product-search, lazy
@pytest.mark.task("search")
@pytest.mark.points(2)
def test_search_ranks_by_cosine_similarity(submission, support, grading_seed):
    rng = np.random.default_rng(grading_seed + 2)
    corpus = rng.normal(size=(40, 8)) * rng.uniform(0.2, 5.0, size=(40, 1))  # unequal lengths
    queries = rng.normal(size=(6, 8))
    got = np.asarray(submission.harness.searched(queries, corpus, 5))
    call = "search(<6 queries>, <40 corpus vectors of very different lengths>, k=5)"
    expect(got.shape == (6, 5), f"{call} returned shape {got.shape}; expected (6, 5): k corpus "
           "indexes per query")
    want, _ = support.cosine_top_k(queries, corpus, 5)
    by_dot = np.argsort(-(queries @ corpus.T), axis=1)[:, :5]
    expect(not np.array_equal(got, by_dot) or np.array_equal(by_dot, want), f"{call} ranks by "
           "the dot product: long vectors win regardless of direction. Cosine similarity "
           "divides by both norms: normalise queries and corpus rows first")
    expect(np.array_equal(np.sort(got, axis=1), np.sort(want, axis=1)), f"{call} did not "
           "return the 5 corpus rows with the highest cosine similarity to each query")
    expect(np.array_equal(got, want), f"{call} found the right rows but not in order: most "
           "similar first (argsort of the negated similarities)")
