"""Entry point: `python train.py fit --config configs/hello.yaml` (also validate, test, predict)."""

from o1_lightning.app.cli import main

if __name__ == "__main__":
    main()
