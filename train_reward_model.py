"""Entry point: `python train_reward_model.py fit --config configs/reward_model.yaml` (also validate)."""

from o1_lightning.app.reward_models.cli import main

if __name__ == "__main__":
    main()
