// Run a scikit-learn model exported by export_model.py, in plain JavaScript.
//
// An ES module with no imports and no Node.js-only APIs (no fs, process, Buffer, require), so
// the same file runs in Node.js and in a browser (see index.html). The caller loads the model
// JSON (fs.readFileSync in Node, fetch in a browser) and passes the parsed object in.
//
// Shapes: `rows` is an array of rows, each an array of n_features numbers; a single row is
// [[x1, x2, ...]]. Return new arrays: never change the arrays you were given.

/**
 * Task 1 (`standardize`): scale every feature as StandardScaler.transform does.
 * @param {{mean: number[], scale: number[]}} scaler
 * @param {number[][]} rows
 * @returns {number[][]}
 */
export function standardize(scaler, rows) {
  return rows.map((row) => row.map((x, j) => (x - scaler.mean[j]) / scaler.scale[j]));
}

/**
 * Task 2 (`stable-math`): the logistic function 1 / (1 + e^-z), for any finite z.
 * @param {number} z
 * @returns {number}
 */
export function sigmoid(z) {
  if (z >= 0) {
    return 1 / (1 + Math.exp(-z));
  }
  const e = Math.exp(z);
  return e / (1 + e);
}

/**
 * Task 2 (`stable-math`): softmax of one vector, shifted by its maximum first.
 * @param {number[]} values
 * @returns {number[]}
 */
export function softmax(values) {
  const top = Math.max(...values);
  const exps = values.map((v) => Math.exp(v - top));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}

/** x . matrix + bias, where matrix has one row per input and one column per output. */
function affine(x, matrix, bias) {
  const out = bias.slice();
  for (let i = 0; i < x.length; i++) {
    const row = matrix[i];
    for (let j = 0; j < out.length; j++) {
      out[j] += x[i] * row[j];
    }
  }
  return out;
}

/** x . coef[k] + intercept[k] for every row k of coef. */
function linear(x, coef, intercept) {
  return coef.map((w, k) => w.reduce((sum, wj, j) => sum + wj * x[j], 0) + intercept[k]);
}

const ACTIVATIONS = {
  relu: (v) => Math.max(0, v),
  tanh: Math.tanh,
  logistic: sigmoid,
  identity: (v) => v,
};

/** The output layer's scores as probabilities: one score -> [1 - p, p], else softmax. */
function toProba(scores, output) {
  if (output === "logistic" || scores.length === 1) {
    const p = sigmoid(scores[0]);
    return [1 - p, p];
  }
  return softmax(scores);
}

function runMlp(step, x) {
  const act = ACTIVATIONS[step.activation];
  if (!act) {
    throw new Error(`unknown activation ${step.activation}`);
  }
  let a = x;
  const last = step.weights.length - 1;
  step.weights.forEach((w, l) => {
    a = affine(a, w, step.biases[l]);
    if (l < last) {
      a = a.map(act);
    }
  });
  return toProba(a, step.output);
}

/**
 * Task 3 (`logistic`) and Task 4 (`mlp`): class probabilities, like sklearn's predict_proba.
 * @param {object} model the parsed model JSON
 * @param {number[][]} rows
 * @returns {number[][]}
 */
export function predictProba(model, rows) {
  let data = rows.map((row) => row.slice());
  for (const step of model.steps) {
    if (step.type === "standard_scaler") {
      data = standardize(step, data);
    } else if (step.type === "logistic_regression") {
      data = data.map((x) => toProba(linear(x, step.coef, step.intercept), "auto"));
    } else if (step.type === "mlp") {
      data = data.map((x) => runMlp(step, x));
    } else {
      throw new Error(`unknown step type ${step.type}`);
    }
  }
  return data;
}

/**
 * Task 5 (`predict`): the class label with the highest probability (the first on a tie).
 * @param {object} model
 * @param {number[][]} rows
 * @returns {Array<string|number>}
 */
export function predict(model, rows) {
  return predictProba(model, rows).map((p) => {
    let best = 0;
    for (let k = 1; k < p.length; k++) {
      if (p[k] > p[best]) {
        best = k;
      }
    }
    return model.classes[best];
  });
}
