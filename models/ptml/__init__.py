"""papertape model training helpers: datasets, GBDT -> ONNX converters, small sequence nets, model cards.

Offline only (Python, Debian packages): the trading system itself runs the exported ONNX files in Node.
"""
