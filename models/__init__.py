"""The shipped models, one folder each (``default``), shipped inside the package as ``classifier.bundled_models``."""
