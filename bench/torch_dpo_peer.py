"""PyTorch reference peer for safetune's trainer benchmark (`npm run bench -- --trainers`).

The DPO step of bench/trainerBench.ts (configuration dpo-precomputed) in plain
PyTorch eager (fp32, CPU), on the Llama-style model of bench/torch_peer.py:
4 random pairs, each a 64-token prompt followed by a 64-token chosen and a
64-token rejected answer; one forward over the 8 sequences (chosen rows, then
rejected), summed log-probs of the answer tokens (prompt masked with -100),
the sigmoid DPO loss with beta 0.1 against reference log-probs computed once
beforehand under no_grad, backward, clipping to global norm 1.0, AdamW
(lr 1e-4, weight decay 0.1 on matrices) and zero_grad. Median of --steps timed
steps after --warmup; prints one JSON object with the same keys as the
safetune side.

Usage: /usr/bin/python3 bench/torch_dpo_peer.py --json [--threads N] [--steps N] [--warmup N] [--seed N]
"""

import argparse
import json
import resource
import statistics
import time

import torch
import torch.nn.functional as F

from torch_peer import VOCAB, Llama

PAIRS, PROMPT, ANSWER, BETA, IGNORE = 4, 64, 64, 0.1, -100


def median_times(fn, steps, warmup):
    """Median wall-clock and CPU (process) seconds of fn, as bench/measure.ts's medianTimes."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(steps):
        start, cpu_start = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    return statistics.median(wall), statistics.median(cpu)


def sequence_log_probs(logits, labels):
    """Per-row sum of log p(label) where label != -100 (label t predicted by the logits at t - 1)."""
    targets = labels[:, 1:]
    keep = targets != IGNORE
    token = logits[:, :-1].log_softmax(-1).gather(2, targets.masked_fill(~keep, 0).unsqueeze(2)).squeeze(2)
    return (token * keep).sum(-1)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object (the only format)")
    p.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's own)")
    p.add_argument("--steps", type=int, default=10, help="timed steps")
    p.add_argument("--warmup", type=int, default=3, help="untimed warmup steps")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.steps < 1:
        p.error("--steps must be >= 1")
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    torch.manual_seed(args.seed)
    model = Llama()
    params = sum(p.numel() for p in model.parameters())
    prompt = torch.randint(0, VOCAB, (PAIRS, PROMPT))
    chosen = torch.cat([prompt, torch.randint(0, VOCAB, (PAIRS, ANSWER))], dim=1)
    rejected = torch.cat([prompt, torch.randint(0, VOCAB, (PAIRS, ANSWER))], dim=1)
    ids = torch.cat([chosen, rejected], dim=0)  # chosen rows first, then rejected, as safetune
    labels = ids.clone()
    labels[:, :PROMPT] = IGNORE

    def pair_log_probs(m):
        logps = sequence_log_probs(m(ids), labels)
        return logps[:PAIRS], logps[PAIRS:]

    # The reference log-probs, computed once: inputs to every step.
    start = time.perf_counter()
    model.eval()
    with torch.no_grad():
        ref_chosen, ref_rejected = pair_log_probs(model)
    reference_s = time.perf_counter() - start

    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=1e-4,
    )

    def step():
        policy_chosen, policy_rejected = pair_log_probs(model)
        chosen_ratio = policy_chosen - ref_chosen
        rejected_ratio = policy_rejected - ref_rejected
        loss = -F.logsigmoid(BETA * (chosen_ratio - rejected_ratio)).mean()
        if not torch.isfinite(loss).item():
            raise RuntimeError(f"the loss is {loss.item()}")
        # The figures safetune's dpoTask reports each step.
        chosen_rewards, rejected_rewards = BETA * chosen_ratio.detach(), BETA * rejected_ratio.detach()
        margins = chosen_rewards - rejected_rewards
        _ = [
            chosen_rewards.mean().item(),
            rejected_rewards.mean().item(),
            margins.mean().item(),
            (margins > 0).float().mean().item(),
            policy_chosen.detach().mean().item(),
            policy_rejected.detach().mean().item(),
        ]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    model.train()
    step_s, cpu_step_s = median_times(step, args.steps, args.warmup)
    figures = {
        "config": "dpo-precomputed",
        "params": params,
        "trainable": params,
        "step_s": step_s,
        "cpu_step_s": cpu_step_s,
        "pairs_per_s": PAIRS / step_s,
        "tokens_per_s": PAIRS * 2 * (PROMPT + ANSWER) / step_s,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "reference_s": reference_s,
    }
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "figures": figures}))


if __name__ == "__main__":
    main()
