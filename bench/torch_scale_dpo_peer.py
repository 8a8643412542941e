"""PyTorch eager peer of the scale benchmark's LoRA DPO step (`npm run bench -- --scale`, bench/scaleBench.ts).

A Llama-family model (Llama, Qwen2: q/k/v biases, grouped-query attention, tied or untied head) of the shape in
--config, random float32 weights, frozen; LoRA r 8, alpha 32 on q/k/v (A ~ U(-1/sqrt(in), 1/sqrt(in)), B = 0, as
PEFT); one preference pair of --dpo-length tokens each with the same token ids as the safetune side (first half
prompt, masked with -100); reference log-probs once under no_grad with the adapter off; then per step: one forward
over the 2 sequences, summed answer log-probs, the sigmoid DPO loss (beta 0.1), backward, AdamW (lr 1e-4) and
zero_grad. Median of --dpo-steps timed steps (wall and CPU time) after one warm-up; prints one JSON object like the
safetune side.

Usage: /usr/bin/python3 bench/torch_scale_dpo_peer.py --config DIR/config.json [--threads N] [--dpo-length N]
       [--dpo-steps N]
"""

import argparse
import json
import math
import resource
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

IGNORE = -100


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class LoraLinear(nn.Module):
    """A frozen linear layer with an optional LoRA update (alpha / r) B A x."""

    def __init__(self, inp, out, bias, r=0, alpha=0):
        super().__init__()
        self.base = nn.Linear(inp, out, bias=bias)
        self.r = r
        self.enabled = True
        if r:
            bound = 1 / math.sqrt(inp)
            self.a = nn.Parameter(torch.empty(r, inp).uniform_(-bound, bound))
            self.b = nn.Parameter(torch.zeros(out, r))
            self.scale = alpha / r

    def forward(self, x):
        y = self.base(x)
        if self.r and self.enabled:
            y = y + F.linear(F.linear(x, self.a), self.b) * self.scale
        return y


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Block(nn.Module):
    def __init__(self, c, qkv_bias):
        super().__init__()
        d, self.heads, self.kv = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
        self.hd = d // self.heads
        eps = c.get("rms_norm_eps", 1e-6)
        self.norm1, self.norm2 = RMSNorm(d, eps), RMSNorm(d, eps)
        self.q = LoraLinear(d, self.heads * self.hd, qkv_bias, 8, 32)
        self.k = LoraLinear(d, self.kv * self.hd, qkv_bias, 8, 32)
        self.v = LoraLinear(d, self.kv * self.hd, qkv_bias, 8, 32)
        self.o = nn.Linear(self.heads * self.hd, d, bias=False)
        ffn = c["intermediate_size"]
        self.gate, self.up, self.down = nn.Linear(d, ffn, bias=False), nn.Linear(d, ffn, bias=False), nn.Linear(ffn, d, bias=False)

    def forward(self, h, cos, sin, mask):
        b, t, _ = h.shape
        x = self.norm1(h)
        q = self.q(x).view(b, t, self.heads, self.hd).transpose(1, 2)
        k = self.k(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        v = self.v(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        groups = self.heads // self.kv
        k = k.repeat_interleave(groups, dim=1)
        v = v.repeat_interleave(groups, dim=1)
        scores = (q @ k.transpose(2, 3)) / math.sqrt(self.hd)
        att = scores.masked_fill(mask, float("-inf")).softmax(-1) @ v
        h = h + self.o(att.transpose(1, 2).reshape(b, t, -1))
        y = self.norm2(h)
        return h + self.down(F.silu(self.gate(y)) * self.up(y))


class Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        d = c["hidden_size"]
        qkv_bias = c["model_type"] == "qwen2"
        self.embed = nn.Embedding(c["vocab_size"], d)
        self.layers = nn.ModuleList(Block(c, qkv_bias) for _ in range(c["num_hidden_layers"]))
        self.norm = RMSNorm(d, c.get("rms_norm_eps", 1e-6))
        self.tied = c.get("tie_word_embeddings", False)
        if not self.tied:
            self.lm_head = nn.Linear(d, c["vocab_size"], bias=False)
        hd = d // c["num_attention_heads"]
        self.inv_freq = 1.0 / (c.get("rope_theta", 10000.0) ** (torch.arange(0, hd, 2).float() / hd))

    def set_adapter(self, enabled):
        for layer in self.layers:
            for m in (layer.q, layer.k, layer.v):
                m.enabled = enabled

    def forward(self, ids):
        t = ids.shape[1]
        angles = torch.outer(torch.arange(t).float(), self.inv_freq)
        emb = torch.cat((angles, angles), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        mask = torch.ones(t, t, dtype=torch.bool).triu(1)
        h = self.embed(ids)
        for layer in self.layers:
            h = layer(h, cos, sin, mask)
        h = self.norm(h)
        return h @ self.embed.weight.t() if self.tied else self.lm_head(h)


def answer_log_probs(logits, labels):
    targets = labels[:, 1:]
    keep = targets != IGNORE
    token = logits[:, :-1].log_softmax(-1).gather(2, targets.masked_fill(~keep, 0).unsqueeze(2)).squeeze(2)
    return (token * keep).sum(-1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dpo-length", type=int, default=256)
    parser.add_argument("--dpo-steps", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with open(args.config) as f:
        c = json.load(f)
    with torch.no_grad():
        model = Model(c)
        for name, p in model.named_parameters():
            if name.endswith(".a") or name.endswith(".b"):
                continue
            p.requires_grad_(False)
            if p.dim() == 2:
                p.normal_(0, 0.02)
    vocab, length = c["vocab_size"], args.dpo_length
    seq = lambda offset: [10 + ((i * 7919 + offset * 104729) % (vocab - 10)) for i in range(length)]
    ids = torch.tensor([seq(1), seq(2)])
    labels = ids.clone()
    labels[:, : length // 2] = IGNORE
    model.set_adapter(False)
    with torch.no_grad():
        reference = answer_log_probs(model(ids), labels)
    model.set_adapter(True)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4)

    def step():
        policy = answer_log_probs(model(ids), labels)
        margin = (policy[0] - reference[0]) - (policy[1] - reference[1])
        loss = -F.logsigmoid(0.1 * margin)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    step()
    times, cpu_times = [], []
    for _ in range(args.dpo_steps):
        start, cpu = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "stepS": statistics.median(times),
                "stepCpuS": statistics.median(cpu_times),
                "peakRssMiB": peak,
                "threads": torch.get_num_threads(),
            }
        )
    )


if __name__ == "__main__":
    main()
