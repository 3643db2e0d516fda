"""The Assist protocol's vocabulary, shared by the web services and the notifications."""
