// Reference ids and timings for lavender's tokenizer tests and benchmark, from the real tiktoken
// (its Rust core compiled to WASM) and llama3-tokenizer-js. Run `npm ci` here first.
//
//   node reference.mjs --llama3 tokenizer.json --out DIR [--lines N]
//       writes DIR/corpus.jsonl (N lines, one JSON string each), DIR/llama3_tiktoken.jsonl and
//       DIR/llama3_js.jsonl (Llama 3 ids: tiktoken on the ranks of tokenizer.json, and
//       llama3-tokenizer-js), DIR/cl100k_base.tiktoken (the ranks tiktoken bundles, in
//       tiktoken's file format) and DIR/cl100k.jsonl (tiktoken's cl100k_base ids). No BOS.
//   node reference.mjs --llama3 tokenizer.json --bench CORPUS.jsonl [--seconds S]
//       times tiktoken encoding every line of CORPUS with the Llama 3 ranks (after one warm-up
//       pass) and prints {"tokens_per_s": ..., "bytes_per_s": ..., "tokens": ..., "passes": ...}.
import fs from "node:fs";
import path from "node:path";
import { Tiktoken } from "tiktoken/lite";
import llama3Tokenizer from "llama3-tokenizer-js";
import { makeCorpus } from "./corpus.mjs";
import { createRequire } from "node:module";

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith("--")) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));

// GPT-2's byte alphabet: printable Latin-1 bytes are themselves, the rest U+0100 onwards.
function byteOfCodePoint() {
  const printable = (b) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const map = new Map();
  let n = 0;
  for (let b = 0; b < 256; ++b) map.set(printable(b) ? b : 256 + n++, b);
  return map;
}

// tokenizer.json -> tiktoken ranks ("base64 rank" lines), special tokens, split pattern.
function llama3Encoding(file) {
  const j = JSON.parse(fs.readFileSync(file, "utf8"));
  const byteOf = byteOfCodePoint();
  const lines = [];
  for (const [tok, id] of Object.entries(j.model.vocab)) {
    const bytes = Buffer.from([...tok].map((c) => byteOf.get(c.codePointAt(0))));
    lines.push(bytes.toString("base64") + " " + id);
  }
  const special = {};
  for (const t of j.added_tokens) special[t.content] = t.id;
  const pattern = j.pre_tokenizer.pretokenizers[0].pattern.Regex;
  return new Tiktoken(lines.join("\n"), special, pattern);
}

function writeJsonl(file, rows) {
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
}

const llama3 = llama3Encoding(args.llama3);
if (args.bench) {
  const corpus = fs.readFileSync(args.bench, "utf8").split("\n").filter((l) => l).map((l) => JSON.parse(l));
  const bytes = corpus.reduce((n, s) => n + Buffer.byteLength(s), 0);
  let tokens = 0;
  for (const s of corpus) tokens += llama3.encode_ordinary(s).length;  // warm-up
  const seconds = Number(args.seconds || 3);
  const start = process.hrtime.bigint();
  let passes = 0, elapsed = 0;
  do {
    for (const s of corpus) llama3.encode_ordinary(s);
    ++passes;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  } while (elapsed < seconds);
  console.log(JSON.stringify({ tokens_per_s: tokens * passes / elapsed, bytes_per_s: bytes * passes / elapsed,
                               tokens, passes }));
} else {
  const out = args.out;
  fs.mkdirSync(out, { recursive: true });
  const corpus = makeCorpus(Number(args.lines || 4000));
  writeJsonl(path.join(out, "corpus.jsonl"), corpus);
  writeJsonl(path.join(out, "llama3_tiktoken.jsonl"), corpus.map((s) => Array.from(llama3.encode_ordinary(s))));
  writeJsonl(path.join(out, "llama3_js.jsonl"), corpus.map((s) => llama3Tokenizer.encode(s, { bos: false, eos: false })));
  // cl100k_base as tiktoken bundles it: "! OFFSET tok tok ..." lines of consecutive ranks.
  const require = createRequire(import.meta.url);
  const cl = require("tiktoken/encoders/cl100k_base.json");
  const ranks = [];
  for (const line of cl.bpe_ranks.split("\n")) {
    if (!line) continue;
    const [bang, offset, ...toks] = line.split(" ");
    if (bang !== "!") throw new Error("unexpected cl100k_base.json layout");
    toks.forEach((t, i) => ranks.push(t + " " + (Number(offset) + i)));
  }
  fs.writeFileSync(path.join(out, "cl100k_base.tiktoken"), ranks.join("\n") + "\n");
  writeJsonl(path.join(out, "cl100k_special.json"), [cl.special_tokens]);
  const cl100k = new Tiktoken(cl.bpe_ranks, cl.special_tokens, cl.pat_str);
  writeJsonl(path.join(out, "cl100k.jsonl"), corpus.map((s) => Array.from(cl100k.encode_ordinary(s))));
}
