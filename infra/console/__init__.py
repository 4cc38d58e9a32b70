"""The operator's view of authflow: executions with their state graph, path and masked history.

- model.py         what an operator reads of an execution (mask, steps, path, graph statuses)
- stepfunctions.py lists and describes executions through a Step Functions client (local or AWS)
- graph.py         the state graph of an ASL definition, laid out top to bottom, drawn as SVG
- mail.py          captured mail as the user sees it (raw MIME, inline and linked pictures)
- formatting.py    times, durations and short summaries, for the pages and the CLI
- pages.py         the local console's HTML pages (Jinja2 templates, one static CSS file, no script)

model, stepfunctions, graph, mail and formatting import neither moto nor boto3: the `authflow` CLI uses them against AWS.
"""
