"""The wire between IPS and a bank's processing center: what both sides agree on and nothing
more — the ISO 8583 dialect's field layout and codec (``spec``), the frames on the TCP stream
(``framing``), the messages' fields and their formats (``messages``), the ISO 4217 currencies
(``currencies``) and the Luhn check of card numbers (``luhn``).

Both ``ips`` and the simulated bank ``demobank`` import it; it imports neither, and nothing
here does I/O beyond reading a frame from a stream."""
