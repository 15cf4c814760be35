"""The parse stage's logic: raw records → parsed, classified events (or dead letters).

``Parser`` (in ``service``) is the entry point; ``Classifier`` assigns domains from the
``classification.yaml`` data table. See ``docs/parsing.md`` for formats and rules.
"""

from opsconductor.parse.classify import Classifier
from opsconductor.parse.service import ParseOutcome, Parser

__all__ = ["Classifier", "ParseOutcome", "Parser"]
