"""The pure domain: leads, events, stages, playbooks and the qualification engine.

Standard library only; time is always passed in, never read.
"""
