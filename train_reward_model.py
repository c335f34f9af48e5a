"""Entry point: `python train_reward_model.py fit --config configs/reward_model.yaml` (also validate)."""

import sys

if __name__ == "__main__":
    try:
        from o1_lightning.app.reward_models.cli import main  # a few seconds of imports (torch, Lightning)
    except KeyboardInterrupt:
        sys.exit(130)  # Ctrl-C before anything ran: nothing written, no traceback
    main()
