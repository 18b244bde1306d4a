"""``python -m benchmark`` (``make bench``): our stages against the handbook's scripts, measured
side by side in one run on the same data, machine and container engine.

Modules:
    handbook/   the baseline: the handbook's prepare/train/evaluate scripts, one process each
    peak        run a command and print its wall time and peak RSS (stdlib only)
    generate    a generated archive of the official size (ten classes, 13,394 images)
    measure     each measurement: image loading, train memory, the story, overhead, ten classes
    __main__    runs them, prints the table with every target beside its figure, writes JSON
"""
