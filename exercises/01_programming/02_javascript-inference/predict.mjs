// Run a scikit-learn model exported by export_model.py, in plain JavaScript.
//
// An ES module with no imports and no Node.js-only APIs (no fs, process, Buffer, require), so
// the same file runs in Node.js and in a browser (see index.html). The caller loads the model
// JSON (fs.readFileSync in Node, fetch in a browser) and passes the parsed object in.
//
// Shapes: `rows` is an array of rows, each an array of n_features numbers; a single row is
// [[x1, x2, ...]]. Return new arrays: never change the arrays you were given.
//
// Replace every `throw new Error("not implemented")` with your code.

/**
 * Task 1 (`standardize`): scale every feature as StandardScaler.transform does.
 * `scaler` is the model's {"type": "standard_scaler", "mean": [...], "scale": [...]} step.
 * Returns new rows with value[j] = (x[j] - mean[j]) / scale[j].
 * @param {{mean: number[], scale: number[]}} scaler
 * @param {number[][]} rows
 * @returns {number[][]}
 */
export function standardize(scaler, rows) {
  throw new Error("not implemented");
}

/**
 * Task 2 (`stable-math`): the logistic function 1 / (1 + e^-z), for any finite z.
 * Numerically stable: sigmoid(1000) is 1 and sigmoid(-1000) is 0 (or a tiny positive number),
 * never NaN. Hint: for z < 0 use the equivalent form e^z / (1 + e^z).
 * @param {number} z
 * @returns {number}
 */
export function sigmoid(z) {
  throw new Error("not implemented");
}

/**
 * Task 2 (`stable-math`): softmax of one vector: e^v[i] / sum_j e^v[j].
 * Numerically stable: subtract the largest value first (softmax does not change when a
 * constant is added), so [1000, 999] gives [0.731..., 0.268...], not [NaN, NaN].
 * @param {number[]} values
 * @returns {number[]}
 */
export function softmax(values) {
  throw new Error("not implemented");
}

/**
 * Task 3 (`logistic`) and Task 4 (`mlp`): class probabilities, like sklearn's predict_proba.
 * Runs model.steps in order: a "standard_scaler" step, then a "logistic_regression" or an
 * "mlp" step (their format is described at the top of export_model.py).
 * - logistic_regression: z = x . coef[k] + intercept[k] for each coef row k. One row (two
 *   classes): p = sigmoid(z) is the probability of classes[1], so the result row is [1 - p, p].
 *   Several rows: softmax(z).
 * - mlp: for each layer l, a = a . weights[l] + biases[l] (weights[l] has one row per input
 *   unit and one column per output unit); apply `activation` ("relu": max(0, v), "tanh",
 *   "logistic": sigmoid, "identity") after every layer except the last; after the last apply
 *   `output`: "logistic" (one unit: [1 - p, p]) or "softmax".
 * Returns one row of probabilities per input row, in the order of model.classes.
 * @param {object} model the parsed model JSON
 * @param {number[][]} rows
 * @returns {number[][]}
 */
export function predictProba(model, rows) {
  throw new Error("not implemented");
}

/**
 * Task 5 (`predict`): the predicted class of each row, like sklearn's predict: the entry of
 * model.classes with the highest probability (the first one on a tie). Return the class
 * labels themselves (e.g. "class_2", "benign"), not their positions.
 * @param {object} model
 * @param {number[][]} rows
 * @returns {Array<string|number>}
 */
export function predict(model, rows) {
  throw new Error("not implemented");
}
