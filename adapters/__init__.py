"""Province adapters: each maps its dialect to and from the canonical model."""
