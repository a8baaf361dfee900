"""The pipeline's stages. Each reads what earlier stages wrote to the run directory and writes its own.

prepare -> cm -> tokenize -> sft -> gflowgr -> variants -> evaluate -> export
(the tokenizer runs after the CM because it fuses the CM's item embeddings with item text)
"""
from __future__ import annotations

import dataclasses
import random

import numpy as np
import torch
from tqdm import trange

from . import data
from .cm import SASRec, train_epoch, training_chunks
from .config import ExperimentConfig
from .evaluate import rank_cm, rank_policy, score
from .generic import load_dataset
from .model import Policy, build_item_tokens
from .rundir import PROGRESS_INTERVAL, Run, seed_everything
from .tokenizer import build_semantic_ids
from .train import GFlowGRLoss, fit, optimizer_for, sft_loss
from .trie import Trie


def prepare(run: Run) -> None:
    cfg = run.cfg
    with run.stage("prepare") as results:
        dataset, cleaning = load_dataset(cfg)
        if cleaning is not None:
            results.update(cleaning=cleaning)
        split = data.leave_one_out(dataset)
        run.path("cold_start.pt").unlink(missing_ok=True)  # a run dir reused without withholding exports none
        if cfg.withhold_items:
            dataset, split, cold = data.withhold_items(dataset, split, cfg.withhold_items, cfg.seed)
            run.save("cold_start.pt", cold)
            withheld = {item.external_id for item in cold.items}
            results.update(withheld_items=len(withheld), withheld_test_targets=sum(t in withheld for _, _, t in cold.test))
        examples = data.training_examples(split.train, cfg.max_history)
        popularity = data.item_popularity(split.train, dataset.n_items)
        run.save("dataset.pt", {"dataset": dataset, "split": split, "examples": examples, "popularity": popularity})
        results.update(users=len(dataset.sequences), items=dataset.n_items,
                       interactions=sum(map(len, dataset.sequences.values())), training_examples=len(examples),
                       valid_cases=len(split.valid), test_cases=len(split.test))


def _load_data(run: Run):
    d = run.load("dataset.pt", "prepare")
    return d["dataset"], d["split"], d["examples"], np.array(d["popularity"])


def _load_cm(run: Run) -> SASRec:
    saved = run.load("cm.pt", "cm")
    cm = SASRec(saved["n_items"], saved["config"])
    cm.load_state_dict(saved["state"])
    return cm.to(run.device).eval()


def cm(run: Run) -> None:
    cfg = run.cfg
    seed_everything(cfg.seed)
    dataset, split, _, popularity = _load_data(run)
    with run.stage("cm") as results:
        model = SASRec(dataset.n_items, cfg.cm).to(run.device)
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.cm.lr, weight_decay=cfg.cm.weight_decay)
        chunks, rng = training_chunks(split.train, cfg.cm.max_len), random.Random(cfg.seed)
        best, best_state, bad, curve = -1.0, None, 0, []
        for epoch in (bar := trange(cfg.cm.epochs, desc="cm", unit="epoch", mininterval=PROGRESS_INTERVAL)):
            loss = train_epoch(model, optimizer, chunks, cfg.cm.batch_size, rng, by_length=cfg.cm.batches == "by_length")
            if (epoch + 1) % cfg.cm.eval_every and epoch + 1 != cfg.cm.epochs:
                continue
            m = score(rank_cm(model, split.valid, 10, 512, False), split.valid, popularity)
            curve.append({"epoch": epoch + 1, "loss": loss, "valid_ndcg@10": m["ndcg@10"], "valid_recall@10": m["recall@10"]})
            bar.set_postfix(loss=f"{loss:.3f}", ndcg=f"{m['ndcg@10']:.4f}", refresh=False)
            if m["ndcg@10"] > best:
                best, best_state, bad = m["ndcg@10"], {k: v.clone() for k, v in model.state_dict().items()}, 0
            elif (bad := bad + 1) >= cfg.cm.patience:
                break
        model.load_state_dict(best_state)
        run.save("cm.pt", {"n_items": dataset.n_items, "config": cfg.cm, "state": model.state_dict()})
        # the CM's own test figures, both protocols (the evaluate stage repeats them next to the policy's)
        test = {protocol: score(rank_cm(model, split.test, 10, 512, masked), split.test, popularity)
                for protocol, masked in (("standard", False), ("history_masked", True))}
        results.update(curve=curve, best_valid_ndcg10=best, best_epoch=max(curve, key=lambda c: c["valid_ndcg@10"])["epoch"], test=test)


def tokenize(run: Run) -> None:
    cfg = run.cfg
    dataset, _, _, _ = _load_data(run)
    with run.stage("tokenize") as results:
        collaborative = _load_cm(run).item_embeddings().cpu().numpy() if cfg.tokenizer.cm_weight > 0 else None
        sids = build_semantic_ids([item.text() for item in dataset.items], collaborative, cfg.tokenizer, cfg.seed)
        run.save("semantic_ids.pt", {"codes": sids.codes, "codebook_sizes": sids.codebook_sizes, "encoder": sids.encoder})
        results.update(sids.report())
        print(f"[tokenize] {results}")


def _policy_setup(run: Run):
    sids = run.load("semantic_ids.pt", "tokenize")
    pcfg = dataclasses.replace(run.cfg.policy, codebook_sizes=list(sids["codebook_sizes"]), max_history=run.cfg.max_history)
    trie = Trie(sids["codes"], sids["codebook_sizes"])
    codes = torch.as_tensor(sids["codes"], dtype=torch.long, device=run.device)
    return pcfg, trie, codes, build_item_tokens(sids["codes"], pcfg).to(run.device)


def load_policy(run: Run, checkpoint: str, stage: str) -> Policy:
    saved = run.load(checkpoint, stage)
    policy = Policy(saved["config"])
    policy.load_state_dict(saved["state"])
    return policy.to(run.device).eval()


def sft(run: Run) -> None:
    cfg = run.cfg
    generator = seed_everything(cfg.seed)
    _, split, examples, popularity = _load_data(run)
    pcfg, trie, codes, item_tokens = _policy_setup(run)
    valid = _subset(split.valid, cfg.sft.eval_users, cfg.seed)
    with run.stage("sft") as results:
        policy = Policy(pcfg).to(run.device)
        steps_per_epoch = -(-len(examples) // cfg.sft.batch_size)
        history = fit(policy, trie.tensors(run.device), codes, item_tokens, examples, valid, popularity, sft_loss,
                      epochs=cfg.sft.epochs, batch_size=cfg.sft.batch_size,
                      optimizer=optimizer_for(policy, cfg.sft.lr, cfg.sft.lr, cfg.sft.weight_decay),
                      eval_every_steps=max(1, round(cfg.sft.eval_every * steps_per_epoch)), patience=cfg.sft.patience,
                      beam=cfg.evaluate.beam, k=cfg.evaluate.k, generator=generator, label="sft")
        run.save("sft.pt", {"config": pcfg, "state": policy.state_dict(), "history": history})
        results.update(history=history, parameters=sum(p.numel() for p in policy.parameters()))


def _finetune(run: Run, g, label: str) -> tuple[Policy, dict]:
    """The GFlowGR phase (or, with objective sft, the equal-budget SFT continuation) from the SFT checkpoint."""
    cfg = run.cfg
    generator = seed_everything(cfg.seed + g.seed)
    _, split, examples, popularity = _load_data(run)
    _, trie, codes, item_tokens = _policy_setup(run)
    valid = _subset(split.valid, g.eval_users, cfg.seed)
    policy = load_policy(run, "sft.pt", "sft")
    loss = GFlowGRLoss(_load_cm(run), g.objective, g.lam, g.n_trajectories, g.sampler, g.pool_size, g.reward, generator,
                       g.log_z)
    history = fit(policy, trie.tensors(run.device), codes, item_tokens, examples, valid, popularity, loss,
                  epochs=g.epochs, batch_size=g.batch_size,
                  optimizer=optimizer_for(policy, g.lr, g.head_lr, cfg.sft.weight_decay),
                  eval_every_steps=g.eval_every, patience=10**9, beam=cfg.evaluate.beam, k=cfg.evaluate.k,
                  generator=generator, label=label)
    return policy, history


def gflowgr(run: Run) -> None:
    with run.stage("gflowgr") as results:
        policy, history = _finetune(run, run.cfg.gflowgr, f"gflowgr-{run.cfg.gflowgr.objective}")
        run.save("gflowgr.pt", {"config": policy.cfg, "state": policy.state_dict(), "history": history})
        results.update(history=history)


def variants(run: Run) -> None:
    """Each configured variant: fine-tuned like the gflowgr stage (selected on its validation sample), then
    scored on the test users that `evaluate` scores (standard protocol), into variant-<name>.pt and .json."""
    cfg = run.cfg
    _, split, _, popularity = _load_data(run)
    _, trie, _, item_tokens = _policy_setup(run)
    test, tensors = _subset(split.test, cfg.evaluate.max_users, cfg.seed), trie.tensors(run.device)
    for name in cfg.only_variants or cfg.variants:
        with run.stage(f"variant-{name}") as results:
            policy, history = _finetune(run, cfg.variant(name), f"variant-{name}")
            run.save(f"variant-{name}.pt", {"config": policy.cfg, "state": policy.state_dict(), "history": history})
            ranked = rank_policy(policy, tensors, item_tokens, test, cfg.evaluate.beam, cfg.evaluate.k,
                                 cfg.evaluate.batch_size, False, progress=True)
            t = score(ranked, test, popularity)
            results.update(overrides=cfg.variants[name], history=history, test=t)
            print(f"[variant-{name}] valid N@10 {history['best_valid_ndcg@10']:.4f}; test R@10 {t['recall@10']:.4f} "
                  f"N@10 {t['ndcg@10']:.4f} cov@10 {t['coverage@10']:.3f} tail {t['long_tail_share']:.3f}")


def _subset(cases, n: int, seed: int):
    if not n or n >= len(cases):
        return cases
    return random.Random(seed).sample(cases, n)


def evaluate(run: Run) -> None:
    """SASRec, SFT and GFlowGR on validation (standard protocol, for selection) and test (both protocols); the test
    rankings are kept for the model card's figures."""
    cfg, e = run.cfg, run.cfg.evaluate
    _, split, _, popularity = _load_data(run)
    _, trie, _, item_tokens = _policy_setup(run)
    tensors = trie.tensors(run.device)
    splits = {"valid": _subset(split.valid, e.max_users, cfg.seed), "test": _subset(split.test, e.max_users, cfg.seed)}
    standard, masked = ("standard", False), ("history_masked", True)
    protocols = {"valid": (standard,), "test": (standard, masked)}  # validation only selects, as the papers rank
    rankings = {}
    with run.stage("evaluate") as results:
        models = {"sasrec": None, "sft": ("sft.pt", "sft"), "gflowgr": ("gflowgr.pt", "gflowgr")}
        cm_model = _load_cm(run)
        for name, checkpoint in models.items():
            if checkpoint and not run.path(checkpoint[0]).exists():
                continue
            policy = load_policy(run, *checkpoint) if checkpoint else None
            for split_name, cases in splits.items():
                for protocol, exclude_history in protocols[split_name]:
                    ranked = rank_cm(cm_model, cases, e.k, e.batch_size, exclude_history) if policy is None else \
                        rank_policy(policy, tensors, item_tokens, cases, e.beam, e.k, e.batch_size, exclude_history, progress=True)
                    results.setdefault(name, {}).setdefault(split_name, {})[protocol] = score(ranked, cases, popularity)
                    if split_name == "test" and protocol == "standard":
                        rankings[name] = ranked
            t = results[name]["test"]["standard"]
            print(f"[evaluate] {name:8s} test R@5 {t['recall@5']:.4f} R@10 {t['recall@10']:.4f} N@5 {t['ndcg@5']:.4f} "
                  f"N@10 {t['ndcg@10']:.4f} cov@10 {t['coverage@10']:.3f} tail {t['long_tail_share']:.3f}")
        np.savez_compressed(run.path("test_rankings.npz"), popularity=popularity, **rankings)


def export(run: Run) -> None:
    from .export import export_model
    with run.stage("export") as results:
        results.update(export_model(run))


STAGES = {"prepare": prepare, "cm": cm, "tokenize": tokenize, "sft": sft, "gflowgr": gflowgr,
          "variants": variants, "evaluate": evaluate, "export": export}


def run_all(cfg: ExperimentConfig, stages=None) -> None:
    run = Run(cfg)
    for name in stages or STAGES:
        STAGES[name](run)
