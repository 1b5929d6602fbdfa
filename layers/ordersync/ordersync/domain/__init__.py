"""Pure decisions: no I/O, no AWS, no HTTP. Everything here is tested without a network."""
