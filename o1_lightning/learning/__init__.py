"""The learning pillar: returns and advantages, losses, the experience batch, demonstrations, the KL reference,
imitation and the expert-iteration buffer. Pure maths and plain PyTorch; the Lightning wiring is the app's."""
