"""The `authflow` command line for operators (installed by the project; see authflow_cli.app)."""
