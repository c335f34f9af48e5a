"""o1-lightning: the o1 roadmap (policy initialization, reward design, search, learning) at laptop scale."""

__version__ = "0.1.0"
