"""The bundled data (see README.md here), shipped inside the package as ``classifier.bundled_data``."""
