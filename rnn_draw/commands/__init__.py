"""The orchestration layer, above `util`: command-line flags, one-line errors and exit codes, turning
parsed flags into runs over classes, loading a folder's models, and the processes of one job.

Layers, top to bottom: the scripts -> `rnn_draw.commands` -> `util` (the tutorial's story) -> the rest
of `rnn_draw` (the library) -> `config`. The library never imports this package or `util`;
`commands.cli` imports no Keras, so the scripts answer --help and bad flags before a backend loads.
"""
