# Statistics on the Palmer penguins, the way R does it: glm(), t.test(), JSON out.
#
# Run it as a script:   Rscript analysis.R data/penguins.csv results.json
# The grader also calls each function on its own, with a data frame read by
#   df <- read.csv(path)
# (character columns, NA for missing values). Base R and the jsonlite package are all you need.

MODEL_COLUMNS <- c("sex", "species", "bill_length_mm", "bill_depth_mm", "body_mass_g")
SPECIES <- c("Adelie", "Chinstrap", "Gentoo")

#' The logistic regression of Task 1, fitted on the rows that have every model column.
fit_model <- function(df) {
  data <- df[complete.cases(df[, MODEL_COLUMNS]), MODEL_COLUMNS]
  data$sex <- factor(data$sex, levels = c("female", "male"))
  data$species <- factor(data$species)
  glm(sex ~ species + bill_length_mm + bill_depth_mm + body_mass_g,
      family = binomial, data = data)
}

#' Task 1 (`logistic`): which penguins are male? A logistic regression with glm().
fit_logistic <- function(df) {
  fit <- fit_model(df)
  table <- summary(fit)$coefficients
  list(
    coefficients = table[, "Estimate"],
    std_errors = table[, "Std. Error"],
    p_values = table[, "Pr(>|z|)"],
    n_obs = nobs(fit),
    deviance = deviance(fit),
    aic = AIC(fit)
  )
}

#' Task 2 (`odds-ratios`): the model's coefficients as odds ratios, with 95% Wald intervals.
odds_ratios <- function(df) {
  fit <- fit_model(df)
  wald <- exp(confint.default(fit, level = 0.95))
  terms <- setdiff(names(coef(fit)), "(Intercept)")
  data.frame(
    term = terms,
    odds_ratio = unname(exp(coef(fit))[terms]),
    conf_low = unname(wald[terms, 1]),
    conf_high = unname(wald[terms, 2]),
    stringsAsFactors = FALSE
  )
}

#' Task 3 (`t-test`): are males of one species heavier than females?
compare_body_mass <- function(df, species) {
  rows <- df[!is.na(df$species) & df$species == species &
               !is.na(df$sex) & !is.na(df$body_mass_g), ]
  male <- rows$body_mass_g[rows$sex == "male"]
  female <- rows$body_mass_g[rows$sex == "female"]
  test <- t.test(male, female)  # Welch's test: var.equal = FALSE is the default
  list(
    species = species,
    n_male = length(male),
    n_female = length(female),
    mean_male = mean(male),
    mean_female = mean(female),
    difference = mean(male) - mean(female),
    t_statistic = unname(test$statistic),
    df = unname(test$parameter),
    p_value = test$p.value,
    conf_low = test$conf.int[1],
    conf_high = test$conf.int[2]
  )
}

#' Task 4 (`report`): read the CSV, run the analyses, write one JSON file.
main <- function(input_csv, output_json) {
  df <- read.csv(input_csv)
  logistic <- lapply(fit_logistic(df), function(x) if (length(x) > 1) as.list(x) else x)
  report <- list(
    n_rows = nrow(df),
    logistic = logistic,
    odds_ratios = odds_ratios(df),
    body_mass_by_sex = setNames(lapply(SPECIES, function(s) compare_body_mass(df, s)), SPECIES)
  )
  jsonlite::write_json(report, output_json, auto_unbox = TRUE, digits = NA, pretty = TRUE)
  invisible(report)
}

# Runs main() when called as `Rscript analysis.R in.csv out.json`, not when source()d.
if (sys.nframe() == 0L) {
  args <- commandArgs(trailingOnly = TRUE)
  if (length(args) != 2) {
    stop("usage: Rscript analysis.R <input.csv> <output.json>")
  }
  main(args[1], args[2])
}
