"""Tactic generation speed on CPU: transformers (float32) vs CTranslate2 (int8), same model, same prompts.

    .venv/bin/python bench/generation_speed.py [--model default] [--beam 8] [--max-new-tokens 32]
        [--prompts 4] [--repeats 1] [--threads N] [--device cpu]

Both generators load the same checkpoint (the model store's; CTranslate2's
int8 conversion is cached on first use) and get the same tactic prompts, built
by the same PromptFormat from miniF2F-style goals. Each expansion is one
`complete` call: one prompt, beam `--beam`, at most `--max-new-tokens` new
tokens. Two measures: "fixed length" forces every beam to exactly
`--max-new-tokens` tokens (end-of-sequence suppressed: the same work for both
engines, beam x length tokens per expansion), and "as the generators run"
calls each generator's own `complete` (beams end at end-of-sequence, so the
engines may decode different amounts: int8 changes where beams end). Prints,
per engine: the median latency of one expansion, generated tokens per second
(all beams' tokens), and the speedup; and whether the two engines'
best candidates agree under greedy decoding. `--json` prints the figures as
one JSON object instead.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

GOALS = [
    "n : nat\n============================\nn + 0 = n",
    "a, b : nat\n============================\na + b = b + a",
    "x : R\nH : 0 <= x\n============================\n0 <= x * x + 1",
    "l : list nat\n============================\nrev (rev l) = l",
    "p, q : Prop\nHp : p\nHq : q\n============================\np /\\ q",
    "n : nat\nIHn : n * 0 = 0\n============================\nS n * 0 = 0",
    "a, b, c : Z\nH : a < b\nH0 : b < c\n============================\na < c",
    "f : nat -> nat\nH : forall n, f n = n\n============================\nf (f 3) = 3",
]


def _tokens(generator, completions) -> int:
    return sum(len(generator.tokenizer(c.text, add_special_tokens=False)["input_ids"]) + 1 for c in completions)


def measure(generator, prompts, beam: int, max_new_tokens: int, repeats: int) -> dict:
    from proofsmith.prover.generators.base import DecodeRequest

    # One warm-up expansion (allocations, thread pools) that is not counted.
    generator.complete(DecodeRequest(prompts[:1], beam, max_new_tokens, "beam"))
    latencies, tokens = [], 0
    for _ in range(repeats):
        for prompt in prompts:
            start = time.perf_counter()
            out = generator.complete(DecodeRequest([prompt], beam, max_new_tokens, "beam"))[0]
            latencies.append(time.perf_counter() - start)
            tokens += _tokens(generator, out)
    return {
        "expansions": len(latencies),
        "latency_s": statistics.median(latencies),
        "tokens_per_s": tokens / sum(latencies),
    }


def _fixed_expansion(generator, prompt: str, beam: int, length: int) -> int:
    """One beam expansion of exactly `length` new tokens per beam (no early end); returns tokens made."""
    ids = generator.tokenizer(prompt, add_special_tokens=False)["input_ids"]
    if generator.name == "ctranslate2":
        generator.lm.generate_batch(
            [generator.tokenizer.convert_ids_to_tokens(ids)], beam_size=beam, num_hypotheses=beam,
            min_length=length, max_length=length, include_prompt_in_result=False, length_penalty=0.0,
        )
    else:
        import torch

        with torch.inference_mode():
            generator.lm.generate(
                torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                num_beams=beam, num_return_sequences=beam, do_sample=False, min_new_tokens=length,
                max_new_tokens=length, length_penalty=0.0, pad_token_id=generator.tokenizer.pad_token_id,
            )
    return beam * length


def measure_fixed(generator, prompts, beam: int, length: int, repeats: int) -> dict:
    _fixed_expansion(generator, prompts[0], beam, length)  # warm-up, not counted
    latencies, tokens = [], 0
    for _ in range(repeats):
        for prompt in prompts:
            start = time.perf_counter()
            tokens += _fixed_expansion(generator, prompt, beam, length)
            latencies.append(time.perf_counter() - start)
    return {"expansions": len(latencies), "latency_s": statistics.median(latencies),
            "tokens_per_s": tokens / sum(latencies)}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--beam", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads for both engines")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from proofsmith.prover.generators.base import DecodeRequest
    from proofsmith.prover.generators.ctranslate2_generator import CTranslate2Generator
    from proofsmith.prover.generators.transformers_generator import TransformersGenerator

    engines = {
        "transformers": TransformersGenerator(args.model, device=args.device, threads=args.threads),
        "ctranslate2": CTranslate2Generator(args.model, device=args.device, threads=args.threads),
    }
    fmt = engines["transformers"].prompt_format
    prompts = [fmt.tactic_prompt(goal) for goal in (GOALS * 4)[: args.prompts]]
    greedy = {
        name: [g.prompt_format.parse_tactic(outs[0].text) for outs in g.complete(
            DecodeRequest(prompts, 1, 16, "beam", single_line=True))]
        for name, g in engines.items()
    }
    agree = sum(a == b for a, b in zip(greedy["transformers"], greedy["ctranslate2"]))

    figures = {name: measure_fixed(g, prompts, args.beam, args.max_new_tokens, args.repeats)
               for name, g in engines.items()}
    speedup = figures["transformers"]["latency_s"] / figures["ctranslate2"]["latency_s"]
    natural = {name: measure(g, prompts, args.beam, args.max_new_tokens, args.repeats) for name, g in engines.items()}
    natural_speedup = natural["transformers"]["latency_s"] / natural["ctranslate2"]["latency_s"]

    if args.json:
        print(json.dumps({"model": args.model, "beam": args.beam, "max_new_tokens": args.max_new_tokens,
                          "threads": args.threads, "engines": figures, "speedup": speedup,
                          "as_generators": natural, "as_generators_speedup": natural_speedup,
                          "greedy_agree": agree, "prompts": len(prompts)}, indent=2))
        return 0
    print(f"model {args.model}, beam {args.beam} x {args.max_new_tokens} new tokens, "
          f"{len(prompts)} prompts x {args.repeats} repeats, threads {args.threads or 'default'}")
    for title, table, ratio in (
        (f"fixed length: every beam decodes exactly {args.max_new_tokens} tokens", figures, speedup),
        ("as the generators run (complete(): beams end at end-of-sequence)", natural, natural_speedup),
    ):
        print(title)
        print(f"  {'engine':<14}{'expansion (median s)':>22}{'tokens/s':>12}")
        for name, f in table.items():
            print(f"  {name:<14}{f['latency_s']:>22.2f}{f['tokens_per_s']:>12.1f}")
        print(f"  speedup (expansion latency): {ratio:.1f}x")
    print(f"greedy best tactic identical on {agree}/{len(prompts)} prompts")
    for a, b in zip(greedy["transformers"], greedy["ctranslate2"]):
        if a != b:
            print(f"  transformers {a!r} vs ctranslate2 {b!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
