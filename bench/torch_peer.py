"""PyTorch reference peer for safetune's benchmark (`npm run bench`).

Runs safetune's benchmark workloads in plain PyTorch eager (fp32, CPU) and
prints one JSON object on stdout. The self-contained model definitions mirror
safetune's src/model implementations: GPT-2-style and Llama-style (RMSNorm,
RoPE, grouped-query attention, SwiGLU) models of the same size.

Per model: a training step and a no_grad forward on batch 8 x 128 (median s),
greedy KV-cache generation at batch 1 and batch 8 from 16-token prompts
(prefill yields the first new token, the decode loop the other gen_tokens - 1;
decode tokens/s counts only the loop, over all rows), and the process-wide peak
RSS after the model's run.

Usage: /usr/bin/python3 bench/torch_peer.py --json [--threads N] [--steps N]
       [--warmup N] [--gen-tokens N] [--model gpt|llama|both] [--seed N]
"""

import argparse
import json
import math
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# CONTEXT = the presets' n_positions / max_position_embeddings (src/model/presets.ts): GPT-2's learned
# position table has CONTEXT rows, so both sides have the same parameter count.
VOCAB, D_MODEL, N_LAYERS, N_HEADS, CONTEXT = 4096, 256, 4, 4, 512
BATCH, SEQ, PROMPT_LEN, GEN_REPEATS = 8, 128, 16, 3
DECODE_BATCH = 8  # rows of the batched greedy decode figure


def attention(q, k, v, mask):
    """q: (B, H, T, D); k, v: (B, H, S, D); mask: (T, S) bool, True = masked out."""
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.size(-1))
    scores = scores.masked_fill(mask, float("-inf"))
    probs = torch.softmax(scores.float(), dim=-1).to(q.dtype)
    return probs @ v


def causal_mask(t, past, device):
    """Query i (absolute position past + i) may attend keys 0..past + i."""
    return torch.ones(t, past + t, dtype=torch.bool, device=device).triu(past + 1)


# ---------------------------------------------------------------- GPT-2 style
class GPTBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(D_MODEL, eps=1e-5)
        self.c_attn = nn.Linear(D_MODEL, 3 * D_MODEL)
        self.attn_proj = nn.Linear(D_MODEL, D_MODEL)
        self.ln_2 = nn.LayerNorm(D_MODEL, eps=1e-5)
        self.c_fc = nn.Linear(D_MODEL, 4 * D_MODEL)
        self.mlp_proj = nn.Linear(4 * D_MODEL, D_MODEL)

    def forward(self, x, cache, mask):
        b, t, _ = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(D_MODEL, dim=-1)
        q, k, v = (z.view(b, t, N_HEADS, -1).transpose(1, 2) for z in (q, k, v))
        if cache is not None:
            if cache:
                k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
            cache[:] = [k, v]
        y = attention(q, k, v, mask).transpose(1, 2).reshape(b, t, D_MODEL)
        x = x + self.attn_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(VOCAB, D_MODEL)
        self.wpe = nn.Embedding(CONTEXT, D_MODEL)
        self.blocks = nn.ModuleList(GPTBlock() for _ in range(N_LAYERS))
        self.ln_f = nn.LayerNorm(D_MODEL, eps=1e-5)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, ids, caches=None, past=0):
        t = ids.size(1)
        pos = torch.arange(past, past + t, device=ids.device)
        x = self.wte(ids) + self.wpe(pos)
        mask = causal_mask(t, past, ids.device)
        for i, block in enumerate(self.blocks):
            x = block(x, caches[i] if caches is not None else None, mask)
        return self.ln_f(x) @ self.wte.weight.t()  # tied lm head


# ---------------------------------------------------------------- Llama style
L_KV_HEADS, L_HEAD_DIM, L_FFN, L_EPS, L_THETA = 2, 64, 688, 1e-6, 10000.0


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=L_EPS):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(x.dtype)


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


class LlamaBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.input_norm = RMSNorm(D_MODEL)
        self.q = nn.Linear(D_MODEL, N_HEADS * L_HEAD_DIM, bias=False)
        self.k = nn.Linear(D_MODEL, L_KV_HEADS * L_HEAD_DIM, bias=False)
        self.v = nn.Linear(D_MODEL, L_KV_HEADS * L_HEAD_DIM, bias=False)
        self.o = nn.Linear(N_HEADS * L_HEAD_DIM, D_MODEL, bias=False)
        self.post_norm = RMSNorm(D_MODEL)
        self.gate = nn.Linear(D_MODEL, L_FFN, bias=False)
        self.up = nn.Linear(D_MODEL, L_FFN, bias=False)
        self.down = nn.Linear(L_FFN, D_MODEL, bias=False)

    def forward(self, x, cos, sin, cache, mask):
        b, t, _ = x.shape
        h = self.input_norm(x)
        q = self.q(h).view(b, t, N_HEADS, L_HEAD_DIM).transpose(1, 2)
        k = self.k(h).view(b, t, L_KV_HEADS, L_HEAD_DIM).transpose(1, 2)
        v = self.v(h).view(b, t, L_KV_HEADS, L_HEAD_DIM).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        if cache is not None:  # the cache holds the un-repeated KV heads
            if cache:
                k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
            cache[:] = [k, v]
        rep = N_HEADS // L_KV_HEADS  # GQA: query head i uses KV head i // rep
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        y = attention(q, k, v, mask).transpose(1, 2).reshape(b, t, -1)
        x = x + self.o(y)
        h = self.post_norm(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D_MODEL)
        self.blocks = nn.ModuleList(LlamaBlock() for _ in range(N_LAYERS))
        self.norm = RMSNorm(D_MODEL)
        self.lm_head = nn.Linear(D_MODEL, VOCAB, bias=False)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
        inv_freq = 1.0 / (L_THETA ** (torch.arange(0, L_HEAD_DIM, 2).float() / L_HEAD_DIM))
        freqs = torch.outer(torch.arange(CONTEXT).float(), inv_freq)
        emb = torch.cat([freqs, freqs], dim=-1)  # rotate-half layout, as HF Llama
        self.register_buffer("cos", emb.cos(), persistent=False)
        self.register_buffer("sin", emb.sin(), persistent=False)

    def forward(self, ids, caches=None, past=0):
        t = ids.size(1)
        cos, sin = self.cos[past : past + t], self.sin[past : past + t]
        mask = causal_mask(t, past, ids.device)
        x = self.embed(ids)
        for i, block in enumerate(self.blocks):
            x = block(x, cos, sin, caches[i] if caches is not None else None, mask)
        return self.lm_head(self.norm(x))


# ---------------------------------------------------------------- measurements
def median_time(fn, steps, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@torch.no_grad()
def generate(model, prompt, new_tokens):
    """Greedy decode with a KV cache; returns (tokens, decode_s, total_s)."""
    start = time.perf_counter()
    caches = [[] for _ in range(N_LAYERS)]
    logits = model(prompt, caches)  # prefill -> first new token
    token = logits[:, -1].argmax(-1, keepdim=True)
    tokens = [token]
    decode_start = time.perf_counter()
    for i in range(new_tokens - 1):
        logits = model(token, caches, past=prompt.size(1) + i)
        token = logits[:, -1].argmax(-1, keepdim=True)
        tokens.append(token)
    end = time.perf_counter()
    return torch.cat(tokens, dim=1), end - decode_start, end - start


def bench_model(name, args):
    torch.manual_seed(args.seed)
    model = {"gpt": GPT, "llama": Llama}[name]()
    params = sum(p.numel() for p in model.parameters())
    ids = torch.randint(0, VOCAB, (BATCH, SEQ))

    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=1e-4,
    )

    def train_step():
        logits = model(ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, VOCAB), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    model.train()
    train_s = median_time(train_step, args.steps, args.warmup)

    model.eval()
    with torch.no_grad():
        forward_s = median_time(lambda: model(ids), args.steps, args.warmup)

    prompt = torch.randint(0, VOCAB, (1, PROMPT_LEN))
    if args.warmup > 0:
        generate(model, prompt, args.gen_tokens)
    runs = [generate(model, prompt, args.gen_tokens)[1:] for _ in range(GEN_REPEATS)]
    decode_s = statistics.median(r[0] for r in runs)
    total_s = statistics.median(r[1] for r in runs)

    batch_prompt = torch.randint(0, VOCAB, (DECODE_BATCH, PROMPT_LEN))
    if args.warmup > 0:
        generate(model, batch_prompt, args.gen_tokens)
    batch_decode_s = statistics.median(
        generate(model, batch_prompt, args.gen_tokens)[1] for _ in range(GEN_REPEATS)
    )

    return {
        "params": params,
        "train_step_s": train_s,
        "train_tokens_per_s": BATCH * SEQ / train_s,
        "forward_s": forward_s,
        "forward_tokens_per_s": BATCH * SEQ / forward_s,
        "generate_tokens_per_s": (args.gen_tokens - 1) / decode_s,
        "generate_with_prefill_s": total_s,
        "generate_b8_tokens_per_s": DECODE_BATCH * (args.gen_tokens - 1) / batch_decode_s,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object (the only format)")
    p.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's own)")
    p.add_argument("--steps", type=int, default=10, help="timed steps")
    p.add_argument("--warmup", type=int, default=3, help="untimed warmup steps")
    p.add_argument("--gen-tokens", type=int, default=64, help="new tokens to generate")
    p.add_argument("--model", choices=["gpt", "llama", "both"], default="both")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.steps < 1:
        p.error("--steps must be >= 1")
    if not 1 <= args.gen_tokens <= CONTEXT - PROMPT_LEN + 1:
        p.error(f"--gen-tokens must be in [1, {CONTEXT - PROMPT_LEN + 1}] (context {CONTEXT})")
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    names = ["gpt", "llama"] if args.model == "both" else [args.model]
    result = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "models": {name: bench_model(name, args) for name in names},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
