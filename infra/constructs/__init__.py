"""One construct per concern: storage, queues, search, functions, api, workers, observability.

Note: this package is ``infra.constructs``; the CDK library is the top-level ``constructs`` module.
Always run the app as a module from the repository root (``python -m infra.app``) so that the two
never shadow each other.
"""
