"""Bots' parts that are neither services nor selectors: scenario matching (scenarios.py), composing an answer from
knowledge bases and the LLM (answer.py), API shapes (serializers.py), page forms (forms.py), the wiring to messaging's
hooks and extensions (wiring.py) and the bots' task (tasks.py)."""
