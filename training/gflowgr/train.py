"""Fine-tuning of the policy: supervised (SFT) and GFlowGR (SFT loss on the positive + lambda * GFlowNet loss).

One loop serves both: `sft_loss` and `GFlowGRLoss` turn a batch of (user, history, target) into a
scalar; the loop shuffles, steps, evaluates validation NDCG@10 with the reference decoder and keeps the
best weights (early stopping).
"""
from __future__ import annotations

import copy
import math
import time

import numpy as np
import torch
from tqdm import tqdm

from .cm import SASRec
from .evaluate import Case, rank_policy, score, user_tokens
from .gflownet import sampler
from .gflownet.db import detailed_balance_loss
from .gflownet.reward import RewardConfig, cm_term, log_reward, shared_prefix_length
from .gflownet.tb import trajectory_balance_loss
from .layers import memory_bias
from .model import Policy, history_batch
from .rundir import PROGRESS_INTERVAL
from .trie import TrieTensors, masked_log_softmax


class Batch:
    def __init__(self, cases: list[Case], policy: Policy, item_tokens_cpu: torch.Tensor, device):
        self.histories = [h for _, h, _ in cases]
        self.history_tokens = history_batch(self.histories, item_tokens_cpu, policy.cfg.max_history).to(device)
        self.user_tokens = user_tokens([u for u, _, _ in cases], policy).to(device)
        self.targets = torch.tensor([t for _, _, t in cases], device=device)


def trajectory_log_pf(policy: Policy, trie: TrieTensors, codes: torch.Tensor, item_tokens: torch.Tensor,
                      items: torch.Tensor, beam_index: torch.Tensor, cross_kv, memory_bias):
    """Teacher-forced log P_F of each step towards `items` [N] -> ([N,L] per step, decoder hidden [N,L,D])."""
    logits, hidden = policy.teacher_forced(item_tokens[items], beam_index, cross_kv, memory_bias)
    log_pf = masked_log_softmax(logits, trie.item_masks(items))
    return log_pf.gather(-1, codes[items][..., None]).squeeze(-1), hidden


def sft_loss(policy, trie, codes, item_tokens, batch: Batch, progress: float) -> tuple[torch.Tensor, dict]:
    cross_kv, bias = policy.encode(batch.history_tokens, batch.user_tokens)
    log_pf, _ = trajectory_log_pf(policy, trie, codes, item_tokens, batch.targets, None, cross_kv, bias)
    loss = -log_pf.sum(-1).mean()
    return loss, {"sft": loss.item()}


class GFlowGRLoss:
    """L = L_SFT(positive) + lambda * sum over N trajectories of L_TB or L_DB."""

    def __init__(self, cm: SASRec, objective: str, lam: float, n_trajectories: int, strategy: str, pool_size: int,
                 reward: RewardConfig, generator: torch.Generator, log_z: str = "head"):
        self.cm, self.objective, self.lam, self.n, self.log_z = cm, objective, lam, n_trajectories, log_z
        self.strategy, self.pool_size, self.reward, self.generator = strategy, pool_size, reward, generator
        self.heads_started = False

    def sample(self, policy, trie, cm_scores, targets, cross_kv, bias, progress) -> torch.Tensor:
        count = self.n - 1
        if count == 0:  # N = 1: the positive's trajectory only
            return targets.new_zeros(len(targets), 0)
        if self.strategy == "curriculum":
            return sampler.curriculum(cm_scores.cpu(), targets.cpu(), count, progress, self.pool_size, self.generator)
        if self.strategy == "uniform":
            return sampler.uniform(cm_scores.shape[1], targets.cpu(), count, self.generator)
        was_training = policy.training
        policy.eval()
        generator = self.generator if targets.device.type == "cpu" else None
        items = sampler.on_policy(policy, trie, cross_kv.detach(), bias, targets, count, generator)
        policy.train(was_training)
        return items

    def __call__(self, policy, trie, codes, item_tokens, batch: Batch, progress: float):
        if self.objective == "sft" or self.lam == 0:  # the positive alone: no CM scores, no sampled trajectories
            return sft_loss(policy, trie, codes, item_tokens, batch, progress)
        memory, valid = policy.encode_memory(batch.history_tokens, batch.user_tokens)
        cross_kv = policy.cross_keys_values(memory)
        bias = memory_bias(valid)
        B, device = len(batch.targets), bias.device
        with torch.no_grad():
            self.cm.eval()
            cm_scores = self.cm.scores(batch.histories)
        extra = self.sample(policy, trie, cm_scores, batch.targets, cross_kv, bias, progress).to(device)
        items = torch.cat([batch.targets[:, None], extra], dim=1)                       # [B,N]
        N, L = items.shape[1], codes.shape[1]
        log_pf, hidden = trajectory_log_pf(policy, trie, codes, item_tokens, items.reshape(-1),
                                           torch.arange(B, device=device).repeat_interleave(N), cross_kv, bias)
        log_pf = log_pf.view(B, N, L)
        sft = -log_pf[:, 0].sum(-1).mean()
        stats = {"sft": sft.item()}
        is_positive = torch.zeros(B, N, dtype=torch.bool, device=device)
        is_positive[:, 0] = True
        log_r = log_reward(is_positive, cm_term(cm_scores, items, self.reward),
                           shared_prefix_length(codes[items], codes[batch.targets]), self.reward)
        if not self.heads_started:
            self.start_heads(policy, log_pf, log_r)
        if self.objective == "tb":
            # "trajectories": the log Z that balances this context's N trajectories best, so the loss is their
            # variance of log P_F - log R (VarGrad): it moves only their log-probabilities relative to each other
            log_z = policy.log_z(memory, valid) if self.log_z == "head" else (log_r - log_pf.sum(-1)).mean(1)
            gfn = trajectory_balance_loss(log_z, log_pf, log_r)
        else:
            log_flow = policy.log_flow_head(hidden).squeeze(-1).view(B, N, L)
            gfn = detailed_balance_loss(log_flow, log_pf, log_r)
        stats["gfn"] = gfn.item()
        return sft + self.lam * N * gfn, stats  # the losses are means over trajectories; the paper sums over N

    @torch.no_grad()
    def start_heads(self, policy: Policy, log_pf: torch.Tensor, log_r: torch.Tensor) -> None:
        """Starts log Z (and the flows) at the first batch's mean of log R - log P_F instead of ~0. From ~0 every
        trajectory's balance residual is large and negative at once, so the first steps push up the probability of
        every sampled item (and flatten the policy) while the heads catch up."""
        offset = (log_r - log_pf.sum(-1)).mean()
        policy.log_z_head[-1].bias += offset
        policy.log_flow_head[-1].bias += offset
        self.heads_started = True


def optimizer_for(policy: Policy, lr: float, head_lr: float, weight_decay: float) -> torch.optim.Optimizer:
    heads = [p for n, p in policy.named_parameters() if n.startswith(("log_z_head", "log_flow_head"))]
    body = [p for n, p in policy.named_parameters() if not n.startswith(("log_z_head", "log_flow_head"))]
    return torch.optim.AdamW([{"params": body, "lr": lr}, {"params": heads, "lr": head_lr}], weight_decay=weight_decay)


def length_bucketed_batches(cases: list[Case], batch_size: int, generator: torch.Generator, window: int = 50) -> list[list[int]]:
    """Shuffled batches of similar history length (less padding, the encoder's cost is per position)."""
    order = torch.randperm(len(cases), generator=generator).tolist()
    batches = []
    for at in range(0, len(order), batch_size * window):
        chunk = sorted(order[at:at + batch_size * window], key=lambda i: len(cases[i][1]))
        batches += [chunk[b:b + batch_size] for b in range(0, len(chunk), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def fit(policy: Policy, trie: TrieTensors, codes: torch.Tensor, item_tokens: torch.Tensor, train: list[Case],
        valid: list[Case], popularity: np.ndarray, loss_fn, *, epochs: float, batch_size: int,
        optimizer: torch.optim.Optimizer, eval_every_steps: int, patience: int, beam: int, k: int,
        generator: torch.Generator, label: str) -> dict:
    """Trains in place, restores the best validation weights, returns the training history."""
    device = item_tokens.device
    item_tokens_cpu = item_tokens.cpu()
    steps_per_epoch = math.ceil(len(train) / batch_size)
    total_steps = max(1, int(round(epochs * steps_per_epoch)))
    tracked = ("ndcg@10", "recall@10", "coverage@10", "long_tail_share")
    history = {"steps": [], "train_loss": [], "seconds": [], **{f"valid_{m}": [] for m in tracked}}

    def validate() -> dict:
        return score(rank_policy(policy, trie, item_tokens, valid, beam, k, 256, exclude_history=False), valid, popularity)

    best, best_state, bad, step, start = -1.0, None, 0, 0, time.perf_counter()
    running: list[float] = []
    bar = tqdm(total=total_steps, desc=label, unit="step", mininterval=PROGRESS_INTERVAL)
    while step < total_steps:
        for batch_indices in length_bucketed_batches(train, batch_size, generator):
            if step >= total_steps:
                break
            policy.train()
            loss, stats = loss_fn(policy, trie, codes, item_tokens, Batch([train[i] for i in batch_indices],
                                                                            policy, item_tokens_cpu, device), step / total_steps)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
            optimizer.step()
            running.append(loss.item())
            step += 1
            bar.update(1)
            bar.set_postfix({key: f"{v:.3f}" for key, v in stats.items()}, refresh=False)
            if step % eval_every_steps == 0 or step == total_steps:
                m = validate()
                ndcg = m["ndcg@10"]
                history["steps"].append(step)
                history["train_loss"].append(float(np.mean(running)))
                history["seconds"].append(round(time.perf_counter() - start, 1))
                for name in tracked:
                    history[f"valid_{name}"].append(m[name])
                running = []
                tqdm.write(f"[{label}] step {step}/{total_steps} loss {history['train_loss'][-1]:.4f} valid ndcg@10 {ndcg:.4f} "
                           f"recall@10 {m['recall@10']:.4f} coverage@10 {m['coverage@10']:.3f} tail {m['long_tail_share']:.3f}")
                if ndcg > best:
                    best, best_state, bad = ndcg, copy.deepcopy(policy.state_dict()), 0
                else:
                    bad += 1
                    if bad >= patience:
                        tqdm.write(f"[{label}] early stop: no improvement in {patience} evaluations")
                        step = total_steps
                        break
    bar.close()
    if best_state is not None:
        policy.load_state_dict(best_state)
    history["best_valid_ndcg@10"] = best
    return history
