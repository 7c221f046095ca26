"""The offline pipeline on a Spark cluster (optional extra `spark`: pyspark; `local[N]` or YARN).

Nothing here is imported by the app: `make run` never needs Java or Spark. The feature function is the
one in million/propensity/features.py, applied per hash bucket of customer_id (cogrouped behaviour and
base rows, `applyInPandas`), so training, batch scoring and the online service compute equal numbers."""
