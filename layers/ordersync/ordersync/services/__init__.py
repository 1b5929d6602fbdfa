"""Use cases: they call the domain and the ports, never boto3 or requests directly."""
