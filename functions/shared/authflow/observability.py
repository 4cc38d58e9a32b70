"""The one Logger and Metrics of the authflow service (names come from POWERTOOLS_* variables).

No Tracer: Lambda's active tracing (the template's `Tracing: Active`) records each invocation's
segment without an SDK, and Powertools' Tracer needs aws-xray-sdk, which costs ~145 ms at every
cold start and brings its own botocore into the layer.
"""

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()
