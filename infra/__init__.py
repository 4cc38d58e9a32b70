"""The local stack: authflow on one machine, AWS emulated by moto, built from template.yaml."""
