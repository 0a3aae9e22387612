#!/usr/bin/env python3
"""Golden files for Tests/ModelTests (token ids, types and masks are stored as exact float32): a plain-PyTorch reference of BERT + UniPELT (official code).

The reference is written functionally over a dict of named float64 tensors whose names are the Swift
parameter registry's names, so a gradient here and a gradient there are compared by name. It is checked
first against transformers.BertModel on the same weights (no PELT). Every case runs one forward and
backward on a fixed padded batch and stores inputs, weights, outputs, gate values and every trainable
gradient as float32 safetensors.

    python3 Tests/Scripts/model_golden.py            # tiny random BERT cases
    python3 Tests/Scripts/model_golden.py --real     # + pretrained var/models/minilm-l6 on SST-2 dev
"""
import argparse, json, math, os, sys
import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
GOLDEN = os.path.join(ROOT, "Tests", "ModelTests", "Golden")

TINY = dict(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=64, max_position_embeddings=64, type_vocab_size=2,
            hidden_act="gelu", layer_norm_eps=1e-12, hidden_dropout_prob=0.1,
            attention_probs_dropout_prob=0.1, model_type="bert", pad_token_id=0)
# Small submodules keep the golden folder small; the Swift side reads these sizes from the metadata.
SIZES = dict(bottleneck=4, prefix_length=3, prefix_mlp_width=8, lora_rank=2)
ADAPTER = "task"

METHODS = {  # method -> (adapter, prefix, lora, gated, bitfit, finetune)
    "finetune": (False, False, False, False, False, True),
    "bitfit": (False, False, False, False, True, False),
    "adapter": (True, False, False, False, False, False),
    "prefix": (False, True, False, False, False, False),
    "lora": (False, False, True, False, False, False),
    "unipelt-ap": (True, True, False, True, False, False),
    "unipelt-apl": (True, True, True, True, False, False),
    "unipelt-apl-nogate": (True, True, True, False, False, False),
}


def layer_names(l):
    p = f"bert.encoder.layer.{l}."
    return {
        "q": p + "attention.self.query", "k": p + "attention.self.key", "v": p + "attention.self.value",
        "o": p + "attention.output.dense", "ln_att": p + "attention.output.LayerNorm",
        "ffn_in": p + "intermediate.dense", "ffn_out": p + "output.dense", "ln_out": p + "output.LayerNorm",
        "prefix_gate": p + "attention.self.prefix_gate",
        "adapter": p + f"output.adapters.{ADAPTER}",
    }


def backbone_shapes(c):
    H, I = c["hidden_size"], c["intermediate_size"]
    s = {"bert.embeddings.word_embeddings.weight": (c["vocab_size"], H),
         "bert.embeddings.position_embeddings.weight": (c["max_position_embeddings"], H),
         "bert.embeddings.token_type_embeddings.weight": (c["type_vocab_size"], H),
         "bert.embeddings.LayerNorm.weight": (H,), "bert.embeddings.LayerNorm.bias": (H,)}
    for l in range(c["num_hidden_layers"]):
        n = layer_names(l)
        for key, (o, i) in {"q": (H, H), "k": (H, H), "v": (H, H), "o": (H, H),
                            "ffn_in": (I, H), "ffn_out": (H, I)}.items():
            s[n[key] + ".weight"] = (o, i); s[n[key] + ".bias"] = (o,)
        for key in ("ln_att", "ln_out"):
            s[n[key] + ".weight"] = (H,); s[n[key] + ".bias"] = (H,)
    s["bert.pooler.dense.weight"] = (H, H); s["bert.pooler.dense.bias"] = (H,)
    return s


def pelt_shapes(c, method, num_labels):
    adapter, prefix, lora, gated, _, _ = METHODS[method]
    H, NL = c["hidden_size"], c["num_hidden_layers"]
    m, L, W, r = SIZES["bottleneck"], SIZES["prefix_length"], SIZES["prefix_mlp_width"], SIZES["lora_rank"]
    s = {}
    if prefix:
        s["bert.encoder.prefix_enc_embed.weight"] = (L, H)
        s["bert.encoder.prefix_embed_MLP.0.weight"] = (W, H); s["bert.encoder.prefix_embed_MLP.0.bias"] = (W,)
        s["bert.encoder.prefix_embed_MLP.2.weight"] = (2 * NL * H, W)
        s["bert.encoder.prefix_embed_MLP.2.bias"] = (2 * NL * H,)
    for l in range(NL):
        n = layer_names(l)
        if lora:
            for key in ("q", "v"):
                s[n[key] + ".lora_A"] = (r, H); s[n[key] + ".lora_B"] = (H, r)
                if gated:
                    s[n[key] + ".lora_gate.weight"] = (1, H); s[n[key] + ".lora_gate.bias"] = (1,)
        if prefix and gated:
            s[n["prefix_gate"] + ".weight"] = (1, H); s[n["prefix_gate"] + ".bias"] = (1,)
        if adapter:
            a = n["adapter"]
            s[a + ".adapter_down.0.weight"] = (m, H); s[a + ".adapter_down.0.bias"] = (m,)
            s[a + ".adapter_up.weight"] = (H, m); s[a + ".adapter_up.bias"] = (H,)
            if gated:
                s[a + ".gate.weight"] = (1, H); s[a + ".gate.bias"] = (1,)
    s["classifier.weight"] = (num_labels, H); s["classifier.bias"] = (num_labels,)
    return s


def trainable_names(c, method, num_labels, classifier):
    """The trainable set of the official code (`reference`) or unipelt's default (`trained`)."""
    adapter, prefix, lora, gated, bitfit, finetune = METHODS[method]
    pelt = pelt_shapes(c, method, num_labels)
    if finetune:
        return sorted(list(backbone_shapes(c)) + ["classifier.weight", "classifier.bias"])
    names = [k for k in pelt if not k.startswith("classifier.")]
    if bitfit:
        names += [k for k in backbone_shapes(c) if k.endswith(".bias") and k != "bert.pooler.dense.bias"]
        names.append("bert.pooler.dense.bias")  # BitFit trains every bias, the pooler's included
    adapter_mode = adapter
    if classifier == "trained" or adapter_mode:
        names += ["classifier.weight", "classifier.bias"]
    elif bitfit:
        names.append("classifier.bias")  # reference: freeze_params keeps names containing "bias"
    return sorted(names)


def random_weights(shapes, gen):
    w = {}
    for name, shape in shapes.items():
        if name.endswith("LayerNorm.weight"):
            t = 1.0 + 0.1 * torch.randn(shape, generator=gen, dtype=torch.float64)
        elif "embeddings" in name or "prefix_enc_embed" in name:
            t = 0.5 * torch.randn(shape, generator=gen, dtype=torch.float64)
        elif "gate" in name:
            t = 0.3 * torch.randn(shape, generator=gen, dtype=torch.float64)
        else:  # LoRA B is random (not zero) so that A's gradient is not trivially zero
            t = 0.15 * torch.randn(shape, generator=gen, dtype=torch.float64)
        w[name] = t
    return w


def layer_norm(x, w, b, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps)


def linear(x, P, name):
    return x @ P[name + ".weight"].T + P[name + ".bias"]


def gate(x, P, name, mask, pooling):
    """One scalar per sample: mean over tokens of σ(x·w + c); `masked` averages real tokens only."""
    s = torch.sigmoid(linear(x, P, name))[..., 0]  # (B,T)
    if pooling == "unmasked":
        return s.mean(dim=1)
    return (s * mask).sum(dim=1) / mask.sum(dim=1)


def forward(P, c, method, batch, num_labels, pooling, drop=None):
    """Returns logits, loss, gates {name: (B,)} for the reference semantics (the official code's)."""
    adapter, prefix, lora, gated, _, _ = METHODS.get(method, (False,) * 6)
    H, nh, NL, eps = c["hidden_size"], c["num_attention_heads"], c["num_hidden_layers"], c["layer_norm_eps"]
    dh = H // nh
    ids, tt, mask = batch["input_ids"], batch["token_type_ids"], batch["attention_mask"].to(P["bert.embeddings.LayerNorm.weight"].dtype)
    B, T = ids.shape
    drop = drop or {}
    d = lambda key, x: x * drop[key] if key in drop else x
    pos = torch.arange(T)
    e = (P["bert.embeddings.word_embeddings.weight"][ids] + P["bert.embeddings.token_type_embeddings.weight"][tt]
         + P["bert.embeddings.position_embeddings.weight"][pos][None])
    h = d("dropout.embeddings", layer_norm(e, P["bert.embeddings.LayerNorm.weight"],
                                           P["bert.embeddings.LayerNorm.bias"], eps))
    add_mask = ((1.0 - mask) * -10000.0)[:, None, None, :]  # (B,1,1,T)
    gates = {}
    if prefix:
        L = SIZES["prefix_length"]
        E = P["bert.encoder.prefix_enc_embed.weight"]
        mid = torch.tanh(linear(E, P, "bert.encoder.prefix_embed_MLP.0"))
        pflat = linear(mid, P, "bert.encoder.prefix_embed_MLP.2")  # (L, 2·NL·H)
        pkv = pflat.reshape(L, 2 * NL, nh, dh).permute(1, 2, 0, 3)  # (2NL, nh, L, dh)
        add_mask = torch.cat([torch.zeros(B, 1, 1, L, dtype=add_mask.dtype), add_mask], dim=3)
    heads = lambda x: x.reshape(B, -1, nh, dh).permute(0, 2, 1, 3)
    for l in range(NL):
        n = layer_names(l)
        proj = {}
        for key in ("q", "k", "v"):
            y = linear(h, P, n[key])
            if lora and key != "k":
                s = (gate(h, P, n[key] + ".lora_gate", mask, pooling)[:, None, None] if gated
                     else torch.full((B, 1, 1), 2.0, dtype=h.dtype))
                if gated:
                    gates[f"gate.{l}.lora_query" if key == "q" else f"gate.{l}.lora_value"] = s[:, 0, 0]
                y = y + s * ((h @ P[n[key] + ".lora_A"].T) @ P[n[key] + ".lora_B"].T)
            proj[key] = heads(y)
        K, V = proj["k"], proj["v"]
        if prefix:
            gp = torch.ones(B, dtype=h.dtype)
            if gated:
                gp = gate(h, P, n["prefix_gate"], mask, pooling)
                gates[f"gate.{l}.prefix"] = gp
            pk = gp[:, None, None, None] * pkv[2 * l][None]
            pv = gp[:, None, None, None] * pkv[2 * l + 1][None]
            K, V = torch.cat([pk, K], dim=2), torch.cat([pv, V], dim=2)
        S = proj["q"] @ K.transpose(-1, -2) / math.sqrt(dh) + add_mask
        probs = d(f"dropout.attention_probs.{l}", torch.softmax(S, dim=-1))
        ctx = (probs @ V).permute(0, 2, 1, 3).reshape(B, T, H)
        a = layer_norm(d(f"dropout.attention_output.{l}", linear(ctx, P, n["o"])) + h,
                       P[n["ln_att"] + ".weight"], P[n["ln_att"] + ".bias"], eps)
        u = torch.nn.functional.gelu(linear(a, P, n["ffn_in"]))
        f = d(f"dropout.output.{l}", linear(u, P, n["ffn_out"]))
        lnw, lnb = P[n["ln_out"] + ".weight"], P[n["ln_out"] + ".bias"]
        if adapter:
            x = layer_norm(f + a, lnw, lnb, eps)
            hA = linear(torch.relu(linear(x, P, n["adapter"] + ".adapter_down.0")), P, n["adapter"] + ".adapter_up")
            if gated:
                gA = gate(x, P, n["adapter"] + ".gate", mask, pooling)
                gates[f"gate.{l}.adapter"] = gA
                hA = gA[:, None, None] * hA
            h = layer_norm(f + hA + a, lnw, lnb, eps)
        else:
            h = layer_norm(f + a, lnw, lnb, eps)
    pooled = torch.tanh(linear(h[:, 0], P, "bert.pooler.dense"))
    logits = linear(d("dropout.classifier", pooled), P, "classifier")
    if num_labels == 1:
        loss = torch.nn.functional.mse_loss(logits.view(-1), batch["labels"].to(logits.dtype))
    else:
        loss = torch.nn.functional.cross_entropy(logits, batch["labels"])
    return dict(logits=logits, loss=loss, gates=gates, hidden=h, pooled=pooled)


def tiny_batch():
    """B=3 sentence pairs of lengths 12, 9 and 6 padded to T=12: [CLS] a [SEP] b [SEP]."""
    gen = torch.Generator().manual_seed(7)
    rows = [(5, 4), (4, 2), (2, 1)]
    T = 12
    ids = torch.zeros(3, T, dtype=torch.int64); tt = torch.zeros_like(ids); mask = torch.zeros_like(ids)
    for b, (la, lb) in enumerate(rows):
        seq = [2] + torch.randint(5, 100, (la,), generator=gen).tolist() + [3]
        seg = [0] * len(seq)
        tail = torch.randint(5, 100, (lb,), generator=gen).tolist() + [3]
        seq += tail; seg += [1] * len(tail)
        ids[b, :len(seq)] = torch.tensor(seq); tt[b, :len(seq)] = torch.tensor(seg); mask[b, :len(seq)] = 1
    return dict(input_ids=ids, token_type_ids=tt, attention_mask=mask)


def check_against_transformers(c, P, batch):
    from transformers import BertConfig, BertModel
    model = BertModel(BertConfig(**c), add_pooling_layer=True).double().eval()
    state = {k[len("bert."):]: v for k, v in P.items() if k.startswith("bert.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and all("position_ids" in k for k in missing), (missing, unexpected)
    with torch.no_grad():
        hf = model(input_ids=batch["input_ids"], token_type_ids=batch["token_type_ids"],
                   attention_mask=batch["attention_mask"])
        head = {"classifier.weight": torch.zeros(3, c["hidden_size"], dtype=torch.float64),
                "classifier.bias": torch.zeros(3, dtype=torch.float64)}
        ours = forward(dict(P, **head), c, "none", dict(batch, labels=torch.zeros(3, dtype=torch.int64)), 3,
                       "unmasked")
    mask = batch["attention_mask"].bool()
    err_h = (hf.last_hidden_state - ours["hidden"])[mask].abs().max().item()
    err_p = (hf.pooler_output - ours["pooled"]).abs().max().item()
    print(f"reference vs transformers.BertModel: hidden max|Δ| {err_h:.2e}, pooled {err_p:.2e}")
    assert err_h < 1e-9 and err_p < 1e-9


def dropout_masks(c, method, B, T, gen):
    p = 0.1
    H, nh, NL = c["hidden_size"], c["num_attention_heads"], c["num_hidden_layers"]
    Lp = SIZES["prefix_length"] if METHODS[method][1] else 0
    keep = lambda shape: (torch.rand(shape, generator=gen, dtype=torch.float64) >= p).to(torch.float64) / (1 - p)
    m = {"dropout.embeddings": keep((B, T, H)), "dropout.classifier": keep((B, H))}
    for l in range(NL):
        m[f"dropout.attention_probs.{l}"] = keep((B, nh, T, Lp + T))
        m[f"dropout.attention_output.{l}"] = keep((B, T, H))
        m[f"dropout.output.{l}"] = keep((B, T, H))
    return m


def write_case(name, c, backbone, method, num_labels, pooling, classifier, with_dropout, seed):
    gen = torch.Generator().manual_seed(seed)
    batch = tiny_batch()
    B, T = batch["input_ids"].shape
    if num_labels == 1:
        batch["labels"] = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64)
    else:
        batch["labels"] = torch.tensor([2, 0, 1], dtype=torch.int64)
    pelt = random_weights(pelt_shapes(c, method, num_labels), gen)
    P = {k: v.clone() for k, v in backbone.items()}
    P.update(pelt)
    train = trainable_names(c, method, num_labels, classifier)
    for k in train:
        P[k].requires_grad_(True)
    drop = dropout_masks(c, method, B, T, gen) if with_dropout else None
    out = forward(P, c, method, batch, num_labels, pooling, drop)
    out["loss"].backward()
    f32 = lambda t: t.detach().to(torch.float32).contiguous()
    tensors = {"input.input_ids": batch["input_ids"].to(torch.float32),
               "input.token_type_ids": batch["token_type_ids"].to(torch.float32),
               "input.attention_mask": batch["attention_mask"].to(torch.float32),
               "input.labels": f32(batch["labels"]),
               "output.logits": f32(out["logits"]), "output.loss": f32(out["loss"].reshape(1))}
    for k, v in pelt.items():
        tensors["weight." + k] = f32(v)
    for k in train:
        tensors["grad." + k] = f32(P[k].grad)
    for k, v in out["gates"].items():
        tensors[k] = f32(v)
    for k, v in (drop or {}).items():
        tensors[k] = f32(v)
    meta = dict(method=method, num_labels=str(num_labels), gate_pooling=pooling, classifier=classifier,
                dropout=str(with_dropout).lower(), **{k: str(v) for k, v in SIZES.items()})
    save_file(tensors, os.path.join(GOLDEN, name + ".safetensors"), metadata=meta)
    print(f"{name}: loss {out['loss'].item():.6f}, {len(train)} trainable tensors")


def write_tiny():
    c = dict(TINY)
    gen = torch.Generator().manual_seed(1234)
    backbone = random_weights(backbone_shapes(c), gen)
    check_against_transformers(c, backbone, tiny_batch())
    with open(os.path.join(GOLDEN, "tiny_config.json"), "w") as fh:
        json.dump(c, fh, indent=1)
    # BertForSequenceClassification layout (`bert.` prefix), to exercise prefix stripping in the loader.
    save_file({k: v.to(torch.float32).contiguous() for k, v in backbone.items()},
              os.path.join(GOLDEN, "tiny_backbone.safetensors"))
    for i, method in enumerate(METHODS):
        write_case(method, c, backbone, method, 3, "unmasked", "reference", False, 100 + i)
    write_case("regression-unipelt-apl", c, backbone, "unipelt-apl", 1, "unmasked", "reference", False, 200)
    write_case("masked-unipelt-apl", c, backbone, "unipelt-apl", 3, "masked", "reference", False, 201)
    write_case("dropout-unipelt-apl", c, backbone, "unipelt-apl", 3, "unmasked", "reference", True, 202)
    write_case("dropout-finetune", c, backbone, "finetune", 3, "unmasked", "reference", True, 203)


def write_real():
    """The pretrained default model on 64 SST-2 dev sentences (eval mode) with a seeded random head."""
    from transformers import BertModel, BertTokenizer
    model_dir = os.path.join(ROOT, "var", "models", "minilm-l6")
    tok = BertTokenizer(os.path.join(model_dir, "vocab.txt"), do_lower_case=True)
    with open("/work/shared/glue/SST-2/dev.tsv") as fh:
        sentences = [line.split("\t")[0] for line in fh.read().splitlines()[1:65]]
    enc = tok(sentences, padding="longest", truncation=True, max_length=128, return_tensors="pt")
    model = BertModel.from_pretrained(model_dir).eval()
    gen = torch.Generator().manual_seed(5)
    H = model.config.hidden_size
    head_w = 0.02 * torch.randn(2, H, generator=gen); head_b = 0.02 * torch.randn(2, generator=gen)
    with torch.no_grad():
        out = model(**enc)
        logits = out.pooler_output @ head_w.T + head_b
    tensors = {"input.input_ids": enc["input_ids"].to(torch.float32),
               "input.token_type_ids": enc["token_type_ids"].to(torch.float32),
               "input.attention_mask": enc["attention_mask"].to(torch.float32),
               "weight.classifier.weight": head_w, "weight.classifier.bias": head_b,
               "output.pooled": out.pooler_output.contiguous(), "output.logits": logits}
    save_file(tensors, os.path.join(GOLDEN, "minilm-sst2.safetensors"))
    print(f"minilm-sst2: {tuple(enc['input_ids'].shape)} tokens")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--real", action="store_true", help="also write the MiniLM SST-2 golden file")
    args = ap.parse_args()
    os.makedirs(GOLDEN, exist_ok=True)
    torch.manual_seed(0)
    write_tiny()
    if args.real:
        write_real()
