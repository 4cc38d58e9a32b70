"""The measures of SPEC section 7, each one command: `make cost`, `make bench`, `make coldstart`."""
