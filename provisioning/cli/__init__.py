"""The `carebridge` command line: the click application, its shared options and its commands."""
