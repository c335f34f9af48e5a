"""Entry point: `python train.py fit --config configs/hello.yaml` (also validate, test, predict)."""

import sys

if __name__ == "__main__":
    try:
        from o1_lightning.app.cli import main  # a few seconds of imports (torch, Lightning)
    except KeyboardInterrupt:
        sys.exit(130)  # Ctrl-C before anything ran: nothing written, no traceback
    main()
