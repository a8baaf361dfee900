"""GFlowGR training pipeline: data -> semantic IDs -> SASRec CM -> SFT -> GFlowNet fine-tuning -> export."""

__version__ = "0.1.0"
