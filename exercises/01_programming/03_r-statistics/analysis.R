# Statistics on the Palmer penguins, the way R does it: glm(), t.test(), JSON out.
#
# Run it as a script:   Rscript analysis.R data/penguins.csv results.json
# The grader also calls each function on its own, with a data frame read by
#   df <- read.csv(path)
# (character columns, NA for missing values). Base R and the jsonlite package are all you need.
#
# Replace every stop("not implemented") with your code.

#' Task 1 (`logistic`): which penguins are male? A logistic regression with glm().
#'
#' Model: sex ~ species + bill_length_mm + bill_depth_mm + body_mass_g, family = binomial,
#' with glm's default settings. `sex` ("female"/"male") must be a factor whose first level is
#' "female", so the model gives the probability of "male"; `species` a factor with R's default
#' (alphabetical) levels, so Adelie is the baseline and the coefficients are named
#' "speciesChinstrap" and "speciesGentoo". Rows missing any of these five columns are left out
#' (glm does that by default); rows missing only other columns (island, flipper_length_mm,
#' year) are kept.
#'
#' Returns a list with
#'   coefficients, std_errors, p_values: named numeric vectors, one entry per coefficient
#'     ("(Intercept)", "speciesChinstrap", "speciesGentoo", "bill_length_mm", "bill_depth_mm",
#'     "body_mass_g"), from summary(fit)$coefficients;
#'   n_obs: the number of rows the model used; deviance: the residual deviance; aic: the AIC.
fit_logistic <- function(df) {
  stop("not implemented")
}

#' Task 2 (`odds-ratios`): the model's coefficients as odds ratios, with 95% Wald intervals.
#'
#' Fit the same model as fit_logistic. Return a data.frame with one row per coefficient except
#' the intercept, in the model's order, and the columns
#'   term (character), odds_ratio = exp(coefficient),
#'   conf_low, conf_high = exp(coefficient -/+ qnorm(0.975) * standard error)
#' (that is exp(confint.default(fit)); note that confint() on a glm gives profile-likelihood
#' intervals instead, which are not what is asked here).
odds_ratios <- function(df) {
  stop("not implemented")
}

#' Task 3 (`t-test`): are males of one species heavier than females?
#'
#' Welch's two-sample t-test (R's default: unequal variances) of body_mass_g, males against
#' females, within `species` ("Adelie", "Chinstrap" or "Gentoo"); rows with a missing sex or
#' body mass are left out. Returns a list with
#'   species, n_male, n_female, mean_male, mean_female,
#'   difference = mean_male - mean_female, t_statistic, df (Welch's degrees of freedom),
#'   p_value (two-sided), conf_low, conf_high (the 95% interval of the difference).
compare_body_mass <- function(df, species) {
  stop("not implemented")
}

#' Task 4 (`report`): read the CSV, run the analyses, write one JSON file.
#'
#' The JSON object has
#'   "n_rows": the number of rows in the CSV,
#'   "logistic": fit_logistic's list, each named vector as an object {"name": value, ...},
#'   "odds_ratios": odds_ratios' data frame as an array of row objects
#'     [{"term": ..., "odds_ratio": ..., "conf_low": ..., "conf_high": ...}, ...],
#'   "body_mass_by_sex": {"Adelie": compare_body_mass(df, "Adelie"), "Chinstrap": ...,
#'     "Gentoo": ...}.
#' Write it with jsonlite::write_json(..., auto_unbox = TRUE, digits = NA): auto_unbox writes
#' 3 instead of [3], digits = NA keeps every digit. jsonlite writes a named vector as an array
#' without its names: turn it into a list first (as.list(x)).
main <- function(input_csv, output_json) {
  stop("not implemented")
}

# Runs main() when called as `Rscript analysis.R in.csv out.json`, not when source()d.
if (sys.nframe() == 0L) {
  args <- commandArgs(trailingOnly = TRUE)
  if (length(args) != 2) {
    stop("usage: Rscript analysis.R <input.csv> <output.json>")
  }
  main(args[1], args[2])
}
