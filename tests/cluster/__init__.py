"""The cluster under kills: ``ips processing-center``, two ``ips serve --no-workers`` and two
``ips worker`` as real processes on one PostgreSQL database, buyers and a shop driving them
over HTTP while one process after another is killed with SIGKILL and started again; then the
books of IPS against the processing center's, to the cent (``run``, ``books``).

The short run is a test (``test_cluster.py``); a long one runs from the command line::

    .venv/bin/python -m tests.cluster --seconds 900 --seed 7 \\
        --database postgresql://postgres@127.0.0.1:5432/postgres
"""
