"""Where PyTorch eager's training step spends its CPU time (issue 16): torch.profiler over the training step of
bench/torch_peer.py (same model, batch, loss, clipping and AdamW), self CPU time per ATen op, grouped into the
matrix products (the BLAS calls both sides share), the LM head's loss, the optimizer and everything else.

Usage: /usr/bin/python3 bench/torch_training_profile.py [--model llama|gpt] [--steps N] [--warmup N] [--plain]
"""

import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_peer as peer  # noqa: E402

MATMUL = {"aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::linear"}
HEAD = {"aten::_log_softmax", "aten::_log_softmax_backward_data", "aten::nll_loss_forward",
        "aten::nll_loss_backward"}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=["gpt", "llama"], default="llama")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--plain", action="store_true", help="only the timed steps, no torch.profiler (for perf record)")
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = {"gpt": peer.GPT, "llama": peer.Llama}[args.model]()
    ids = torch.randint(0, peer.VOCAB, (peer.BATCH, peer.SEQ))
    decay = [q for q in model.parameters() if q.dim() >= 2]
    no_decay = [q for q in model.parameters() if q.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-4)

    def step():
        logits = model(ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, peer.VOCAB), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(args.warmup):
        step()
    cpu = []
    for _ in range(args.steps):
        start = time.process_time()
        step()
        cpu.append(time.process_time() - start)
    cpu.sort()
    if args.plain:
        print(f"PyTorch eager {args.model} training step: CPU {1000 * cpu[len(cpu) // 2]:.1f} ms (median of {args.steps})")
        return
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            step()
    groups = {"matrix products (mm, addmm, bmm)": 0.0, "LM head log-softmax + NLL (fwd + bwd)": 0.0, "other": 0.0}
    total = 0.0
    for e in prof.key_averages():
        us = e.self_cpu_time_total / args.steps
        total += us
        if e.key in MATMUL:
            groups["matrix products (mm, addmm, bmm)"] += us
        elif e.key in HEAD:
            groups["LM head log-softmax + NLL (fwd + bwd)"] += us
        else:
            groups["other"] += us
    print(f"PyTorch eager {args.model} training step: CPU {1000 * cpu[len(cpu) // 2]:.1f} ms (median of {args.steps}, "
          f"unprofiled); profiled ops {total / 1000:.1f} ms per step")
    for name, us in groups.items():
        print(f"  {name}: {us / 1000:.1f} ms ({100 * us / total:.0f}%)")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


if __name__ == "__main__":
    main()
