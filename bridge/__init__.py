"""The Carebridge appservice: archives every event and adapts policy to Matrix."""
