#!/usr/bin/env bash
# Prints a TCP port that is free on 127.0.0.1 now, for a test server. It is taken below the
# kernel's ephemeral range (net.ipv4.ip_local_port_range, 32768 and up by default), where
# outgoing connections (to PostgreSQL, to the test server itself) take their local ports: a
# random port in that range was once already in use when the server started.
set -euo pipefail
python3 - <<'PY'
import random
import socket

for _ in range(500):
    port = random.randint(20000, 32000)
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
    print(port)
    break
else:
    raise SystemExit("no free port found between 20000 and 32000")
PY
