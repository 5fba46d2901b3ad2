"""The `carebridge` command line: data-dir set-up, supervision, provisioning, reports."""
