"""complaint-router: screen and route citizen messages for government service hotlines.

The package's commands are plain functions: ``classifier.batch.route_file``, ``classifier.predict.predict``,
``classifier.evaluate.evaluate`` and ``classifier.training.train``; ``classifier.artifact.load_model`` loads a
model folder. The ``complaint-router`` command line (``classifier.cli``) only parses and prints.
"""

__version__ = "0.1.0"
