"""Shared test helpers: run the real CLI in-process and read TensorBoard scalars."""

from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from o1_lightning.app.cli import main


def run_cli(*args: str) -> int:
    """Run `python train.py ARGS` in-process; return its exit status."""
    try:
        main(list(args))
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def scalars(log_dir: Path, tag: str) -> dict[int, float]:
    """{step: value} of one TensorBoard tag over every event file under `log_dir`."""
    values = {}
    for events in sorted(log_dir.rglob("events.out.tfevents.*")):
        accumulator = EventAccumulator(str(events))
        accumulator.Reload()
        if tag in accumulator.Tags()["scalars"]:
            values.update({event.step: event.value for event in accumulator.Scalars(tag)})
    return values
