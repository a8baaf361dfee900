"""GFlowNet fine-tuning objectives (one file each), the reward and the trajectory sampler."""
