"""`python -m authflow_cli`: the same as the `authflow` command."""

from authflow_cli.app import main

main()
