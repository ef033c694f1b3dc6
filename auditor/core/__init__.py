"""Pure shared types and functions: the domain, budgets and rule-set models, durations, PromQL text, errors.

No I/O and no clock: an import contract (``make lint``) keeps it so.
"""
