"""Use cases that combine stages, storage and rendering. ``cli`` and ``web`` call only these.

One module per use case so that each stays small: ``analysis`` (video → analysis outputs), ``evaluation``
(everything → Evaluation, report), ``training`` (logs), ``intake`` (intake and tests).
"""
