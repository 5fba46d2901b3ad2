"""One module per `carebridge` subcommand (or group of subcommands)."""
