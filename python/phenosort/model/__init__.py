"""Networks, augmentation, training, prediction and the model file (torch lives here)."""
