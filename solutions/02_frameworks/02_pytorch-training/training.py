"""Handwritten digits with PyTorch: a Dataset, a small network, a training loop, a checkpoint."""

from __future__ import annotations

import copy

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.utils.data import DataLoader, Dataset


class DigitsDataset(Dataset):
    """8x8 digit images (values 0..16) and their labels, served as PyTorch tensors."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images = torch.as_tensor(np.asarray(images, dtype=np.float32) / 16.0)
        self.labels = torch.as_tensor(np.asarray(labels, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[index].reshape(1, 8, 8), self.labels[index]


class DigitNet(nn.Module):
    """A small MLP with BatchNorm and Dropout: (N, 1, 8, 8) images to (N, 10) logits."""

    def __init__(self, hidden: int = 128, dropout: float = 0.2) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def make_optimizer(model: nn.Module) -> torch.optim.Optimizer:
    """The optimizer used for every training step."""
    return torch.optim.Adam(model.parameters(), lr=1e-2)


def train_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
               optimizer: torch.optim.Optimizer, loss_fn: nn.Module) -> float:
    """One optimisation step on one batch, in training mode; return the batch loss."""
    model.train()
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return float(loss.item())


def evaluate(model: nn.Module, loader: DataLoader, loss_fn: nn.Module) -> dict:
    """Mean loss and accuracy over a loader, in eval mode and without tracking gradients."""
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for x, y in loader:
            logits = model(x)
            total_loss += float(loss_fn(logits, y).item()) * len(y)
            correct += int((logits.argmax(dim=1) == y).sum().item())
            count += len(y)
    return {"loss": total_loss / count, "accuracy": correct / count}


def predict(model: nn.Module, images: np.ndarray) -> np.ndarray:
    """Predicted digit (0..9) for each image, in eval mode and without tracking gradients."""
    dataset = DigitsDataset(images, np.zeros(len(images), dtype=np.int64))
    model.eval()
    with torch.no_grad():
        x = torch.stack([dataset[i][0] for i in range(len(dataset))])
        return model(x).argmax(dim=1).numpy().astype(np.int64)


def fit(train_images: np.ndarray, train_labels: np.ndarray, val_images: np.ndarray,
        val_labels: np.ndarray, seed: int = 0, max_epochs: int = 100, patience: int = 5,
        batch_size: int = 64) -> tuple[DigitNet, dict]:
    """Train a seeded DigitNet with early stopping on validation loss.

    Returns the model with the weights of its best epoch, and the history
    ``{"train_loss": [...], "val_loss": [...], "val_accuracy": [...]}`` (one value per epoch).
    """
    torch.manual_seed(seed)
    model = DigitNet()
    optimizer = make_optimizer(model)
    loss_fn = nn.CrossEntropyLoss()
    train_loader = DataLoader(DigitsDataset(train_images, train_labels), batch_size=batch_size,
                              shuffle=True, generator=torch.Generator().manual_seed(seed))
    val_loader = DataLoader(DigitsDataset(val_images, val_labels), batch_size=256)
    history: dict = {"train_loss": [], "val_loss": [], "val_accuracy": []}
    best_loss, best_state, waited = float("inf"), copy.deepcopy(model.state_dict()), 0
    for _ in range(max_epochs):
        losses = [train_step(model, x, y, optimizer, loss_fn) for x, y in train_loader]
        scores = evaluate(model, val_loader, loss_fn)
        history["train_loss"].append(float(np.mean(losses)))
        history["val_loss"].append(scores["loss"])
        history["val_accuracy"].append(scores["accuracy"])
        if scores["loss"] < best_loss:
            best_loss, best_state, waited = scores["loss"], copy.deepcopy(model.state_dict()), 0
        else:
            waited += 1
            if waited >= patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    return model, history


def save_checkpoint(model: nn.Module, path: str) -> None:
    """Write the model's ``state_dict`` to ``path`` in safetensors format."""
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, path)


def load_checkpoint(path: str) -> DigitNet:
    """A fresh DigitNet with the weights from ``path``, ready for evaluation."""
    model = DigitNet()
    model.load_state_dict(load_file(path))
    model.eval()
    return model
