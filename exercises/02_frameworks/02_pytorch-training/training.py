"""Handwritten digits with PyTorch: a Dataset, a small network, a training loop, a checkpoint.

The images are scikit-learn's 8x8 digits (``sklearn.datasets.load_digits``): arrays of shape
(N, 8, 8) with pixel values 0..16, and labels 0..9. Read the README for the tasks; the notebook
walks through them.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset


class DigitsDataset(Dataset):
    """8x8 digit images (values 0..16) and their labels, served as PyTorch tensors."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        """Keep the images (N, 8, 8) and labels (N,)."""
        raise NotImplementedError

    def __len__(self) -> int:
        """The number of images."""
        raise NotImplementedError

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(image, label)``: a float32 tensor of shape (1, 8, 8) scaled to 0..1 (pixels / 16)
        and a 0-d int64 tensor."""
        raise NotImplementedError


class DigitNet(nn.Module):
    """A small network (MLP or CNN) with at least one BatchNorm and one Dropout layer:
    (N, 1, 8, 8) images in, (N, 10) logits out. ``DigitNet()`` must work without arguments."""

    def __init__(self) -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits, one row of 10 per image."""
        raise NotImplementedError


def make_optimizer(model: nn.Module) -> torch.optim.Optimizer:
    """The optimizer used for every training step (e.g. Adam over ``model.parameters()``)."""
    raise NotImplementedError


def train_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
               optimizer: torch.optim.Optimizer, loss_fn: nn.Module) -> float:
    """One optimisation step on one batch, in training mode; return the batch loss as a float."""
    raise NotImplementedError


def evaluate(model: nn.Module, loader: DataLoader, loss_fn: nn.Module) -> dict:
    """``{"loss": mean loss per image, "accuracy": fraction correct}`` over every batch of
    ``loader``, in eval mode and without tracking gradients. Must not change the model."""
    raise NotImplementedError


def predict(model: nn.Module, images: np.ndarray) -> np.ndarray:
    """The predicted digit (int64, 0..9) for each image (N, 8, 8), in eval mode and without
    tracking gradients."""
    raise NotImplementedError


def fit(train_images: np.ndarray, train_labels: np.ndarray, val_images: np.ndarray,
        val_labels: np.ndarray, seed: int = 0, max_epochs: int = 100, patience: int = 5,
        batch_size: int = 64) -> tuple[DigitNet, dict]:
    """Train a DigitNet with early stopping on validation loss, reproducibly for a given seed.

    Return the model with the weights of its best epoch, and the history
    ``{"train_loss": [...], "val_loss": [...], "val_accuracy": [...]}``, one value per epoch.
    """
    raise NotImplementedError


def save_checkpoint(model: nn.Module, path: str) -> None:
    """Write the model's ``state_dict`` to ``path`` in safetensors format (never torch.save)."""
    raise NotImplementedError


def load_checkpoint(path: str) -> DigitNet:
    """A fresh DigitNet with the weights saved at ``path``, ready for evaluation."""
    raise NotImplementedError
