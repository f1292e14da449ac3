"""A threshold on a composed query must say its unit, or it cannot be checked."""

from dataclasses import replace

from api.metrics import MODEL_MAE, MODEL_RMSE
from authoring.promql import sel
from authoring.rules_dsl import RuleGroup, Threshold
from rules_py.model import rmse_high

query = f"{sel(MODEL_RMSE)} - {sel(MODEL_MAE)}"
groups = (RuleGroup("case", (replace(rmse_high, threshold=Threshold(query, ">", 50)),)),)
