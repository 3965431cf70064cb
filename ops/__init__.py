"""Operations: the health probes (health.py) and the Prometheus metrics (metrics.py).

It reads the other apps and nothing reads it; config wires it in (settings, urls).
"""
