"""The project's package, one folder per layer below and above `util` (the tutorial's story):

    the scripts -> rnn_draw.commands (orchestration) -> util -> rnn_draw.library -> config

`rnn_draw.library` never imports `util` or `rnn_draw.commands`; `util` never imports
`rnn_draw.commands`; nothing imports the scripts. tests/test_house.py checks it.
"""
