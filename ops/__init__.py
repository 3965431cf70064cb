"""Operations: the health probes (health.py).

It reads the other apps and nothing reads it; config wires it in (settings, urls).
"""
