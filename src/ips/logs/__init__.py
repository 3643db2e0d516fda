"""IPS's logs: one line per record, JSON by default (``IPS_LOG_FORMAT``), each carrying what
is known of the work it is about — the request id, the merchant, the billnumber, the operation,
the STAN — so that one payment can be followed through every node and worker.

``context`` keeps what is known of the work under way; ``formats`` writes the lines (and masks
what looks like a card number, as a last resort); ``setup`` configures a process.
"""
