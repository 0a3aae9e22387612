#!/usr/bin/env python3
"""PyTorch eager CPU baseline for `unipelt bench step`: the same training step (forward, backward, AdamW)
of every method on the same shapes, with the same reference model as Tests/Scripts/model_golden.py.

    python3 Tests/Scripts/torch_step_bench.py [--model var/models/minilm-l6] [--threads 2] [--batch 16] [--seq 128]
"""
import argparse, json, os, statistics, sys, time
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_golden as ref  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="var/models/minilm-l6")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--method", default="all")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from safetensors.torch import load_file
    with open(os.path.join(args.model, "config.json")) as fh:
        c = json.load(fh)
    weights = load_file(os.path.join(args.model, "model.safetensors"))
    backbone = {}
    for name in ref.backbone_shapes(c):
        bare = name[len("bert."):]
        backbone[name] = (weights.get(name, weights.get(bare))).to(torch.float32)
    H = c["hidden_size"]
    # unipelt's default sizes (PELTConfig.method) instead of the golden script's tiny ones.
    ref.SIZES.update(bottleneck=H // 16, prefix_length=10, prefix_mlp_width=512, lora_rank=8)
    gen = torch.Generator().manual_seed(42)
    B, T = args.batch, args.seq
    batch = dict(input_ids=torch.randint(1000, c["vocab_size"], (B, T), generator=gen),
                 token_type_ids=(torch.arange(T) >= T // 2).long().expand(B, T).contiguous(),
                 attention_mask=torch.ones(B, T, dtype=torch.int64),
                 labels=torch.randint(0, 2, (B,), generator=gen))
    methods = list(ref.METHODS) if args.method == "all" else [args.method]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), batch {B} x {T}, {args.steps} timed steps")
    # CPU ms = process CPU time per step: with one thread it is immune to other processes' load.
    print(f"{'method':20s} {'trainable':>10s}  {'ms/step (min)':>15s}  {'CPU ms':>7s}")
    for method in methods:
        P = {k: v.clone() for k, v in backbone.items()}
        for k, shape in ref.pelt_shapes(c, method, 2).items():
            P[k] = 0.02 * torch.randn(shape, generator=gen)
        train = ref.trainable_names(c, method, 2, "trained")
        params = [P[k].requires_grad_(True) for k in train]
        opt = torch.optim.AdamW(params, lr=1e-5, weight_decay=0.0)
        times, cpu = [], []
        for step in range(args.steps + 2):
            t0, c0 = time.perf_counter(), time.process_time()
            masks = training_masks(c, method, B, T)
            out = ref.forward(P, c, method, batch, 2, "masked", masks)
            opt.zero_grad(set_to_none=False)
            out["loss"].backward()
            opt.step()
            if step >= 2:
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
        n = sum(p.numel() for p in params)
        print(f"{method:20s} {n:10d}  {statistics.median(times) * 1e3:7.1f} ({min(times) * 1e3:6.1f})  {statistics.median(cpu) * 1e3:7.1f}")


def training_masks(c, method, B, T):
    """Dropout as in training (p = 0.1 at every BERT site), drawn fresh each step like nn.Dropout."""
    p = 0.1
    Lp = ref.SIZES["prefix_length"] if ref.METHODS[method][1] else 0
    H, nh = c["hidden_size"], c["num_attention_heads"]
    keep = lambda shape: (torch.rand(shape) >= p).float() / (1 - p)
    m = {"dropout.embeddings": keep((B, T, H)), "dropout.classifier": keep((B, H))}
    for l in range(c["num_hidden_layers"]):
        m[f"dropout.attention_probs.{l}"] = keep((B, nh, T, Lp + T))
        m[f"dropout.attention_output.{l}"] = keep((B, T, H))
        m[f"dropout.output.{l}"] = keep((B, T, H))
    return m


if __name__ == "__main__":
    main()
