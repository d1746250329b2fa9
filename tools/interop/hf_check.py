"""Loads a Scion llama export with Hugging Face's libraries and compares it with Scion.

DIR holds model.safetensors, config.json and tokenizer.json (what `scion train` writes), and
DIR/hf-check/ the files of tools/interop/hf-inputs.ts plus Scion's logits for input.safetensors
(`scion eval SPEC --model M --weights DIR/model.safetensors --input DIR/hf-check/input.safetensors
-o DIR/hf-check/scion-out.safetensors --device reference`). Needs torch, transformers, tokenizers and
safetensors. Exit status 1 when ids differ or logits differ by more than 1e-4.

    python3 tools/interop/hf_check.py runs/TinyLlama
"""

import json
import sys

import numpy as np
import torch
from safetensors.numpy import load_file
from tokenizers import Tokenizer
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

d = sys.argv[1]
c = f"{d}/hf-check"
tok = Tokenizer.from_file(f"{d}/tokenizer.json")
fast = PreTrainedTokenizerFast(tokenizer_file=f"{d}/tokenizer.json")
ref = json.load(open(f"{c}/ids.json"))
ok = True
for text, ours in zip(ref["texts"], ref["ids"]):
    theirs = tok.encode(text, add_special_tokens=False).ids
    same = theirs == ours and fast(text, add_special_tokens=False)["input_ids"] == ours
    round_trip = tok.decode(ours) == text
    ok = ok and same and round_trip
    print(f"ids equal: {same} ({len(ours)} ids), tokenizers decode(Scion ids) == text: {round_trip}")
model = LlamaForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").eval()
x = load_file(f"{c}/input.safetensors")["tokens"]
with torch.no_grad():
    theirs = model(torch.tensor(x, dtype=torch.long)).logits.numpy()
ours = load_file(f"{c}/scion-out.safetensors")["logits"]
diff = float(np.abs(theirs - ours).max())
ok = ok and diff <= 1e-4
print(f"logits {ours.shape}: max |transformers - Scion| = {diff:.3g} (max |logit| {float(np.abs(ours).max()):.3g}); "
      f"argmax agreement {float((theirs.argmax(-1) == ours.argmax(-1)).mean()):.3f}")
sys.exit(0 if ok else 1)
