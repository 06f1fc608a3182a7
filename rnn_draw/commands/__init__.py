"""The orchestration layer, above `util`: command-line flags, one-line errors and exit codes, turning
parsed flags into runs (training, drawing, classifying), loading a folder's models, and the processes
of one job. `commands.cli` imports no Keras, so the scripts answer --help and bad flags before a
backend loads. Layers: see `rnn_draw/__init__.py`.
"""
