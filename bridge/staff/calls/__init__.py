"""Calls: the call log, the person-to-person rule, missed-call notices and reports."""
