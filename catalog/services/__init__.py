"""Every write with side effects lives here, one module per workflow.

Functions are keyword-only, run in `transaction.atomic()`, and call
`full_clean()` before saving; errors are ValidationErrors with a `code`.
Nothing happens behind the caller's back in `Model.save()` or signals.
"""
