"""One construct per concern: storage, queues, search, functions, api, workers, observability.

Named ``components`` (not ``constructs``) so that nothing here shadows the CDK ``constructs`` library.
"""
