"""The one place that sets up logging and metrics for every function.

The Tracer is left out on purpose: importing the X-Ray SDK costs ~380 ms of cold start (measured
with bench/cold_start.py's import-time listing) and the functions' AWS calls are already visible
through Lambda's own active tracing.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics

SERVICE_NAME = os.environ.get("POWERTOOLS_SERVICE_NAME", "budget-service")
METRICS_NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "BudgetService")

logger = Logger(service=SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)
