"""Operations: data-dir set-up, production templates, the supervisor, TURN, backup, restore,
database copies."""
