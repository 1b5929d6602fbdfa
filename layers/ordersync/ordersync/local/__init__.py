"""The embedded stack: a moto server, the resources of template.yaml, fake stores, and a runner
that invokes the handlers in-process the way Lambda would. Development only: not imported by
the Lambda functions, and its extra dependencies come with `pip install -e .[dev]`."""
