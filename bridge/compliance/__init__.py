"""Login/logout compliance: the sessions ledger, reports, the scheduler and the bot commands."""
