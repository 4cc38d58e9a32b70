"""authflow's domain package: every function imports it; nothing here needs an AWS event."""
