// Reference ids and decodes from the official Hugging Face tokenizers library (its Rust core,
// through the npm package `tokenizers`) for lavender's tokenizer.json loaders. Run `npm ci` first.
//
//   node hf_reference.mjs --llama2 tokenizer.json --llama3 tokenizer.json --out DIR [--lines N]
//
// Writes DIR/corpus.jsonl (the generated corpus of corpus.mjs plus lines around added tokens),
// and for each tokenizer variant DIR/<name>/tokenizer.json and DIR/<name>.jsonl, one row per
// corpus line: {"ids": ids with special tokens, "text": decode(ids), "text_skip": decode(ids)
// skipping special tokens}. DIR/variants.json lists the names. The variants are the two files as
// published plus edits of Llama 2's that exercise the rest of the format: the Metaspace
// pre-tokenizer of newer files (prepend schemes first and always, split on and off), the
// Metaspace decoder, Unicode and case normalizers, and added tokens with every flag.
import fs from "node:fs";
import path from "node:path";
import { Tokenizer } from "tokenizers";
import { makeCorpus } from "./corpus.mjs";

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith("--")) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));

const SPACE = "\u2581";
const clone = (j) => JSON.parse(JSON.stringify(j));
const token = (id, content, flags = {}) => ({ id, content, single_word: false, lstrip: false,
  rstrip: false, normalized: false, special: false, ...flags });

function variants(llama2, llama3) {
  const v = { llama2: clone(llama2), llama3: clone(llama3) };
  const sentencePieceDecoder = { type: "Sequence", decoders: [
    { type: "Replace", pattern: { String: SPACE }, content: " " }, { type: "ByteFallback" },
    { type: "Fuse" }, { type: "Strip", content: " ", start: 1, stop: 0 }] };
  // Llama 2 / Mistral as tokenizers >= 0.19 writes them: no normalizer, Metaspace "first".
  const first = clone(llama2);
  first.normalizer = null;
  first.pre_tokenizer = { type: "Metaspace", replacement: SPACE, prepend_scheme: "first", split: false };
  first.decoder = sentencePieceDecoder;
  v.llama2_metaspace_first = first;
  // Metaspace "always" with splitting, decoded by the Metaspace decoder.
  const always = clone(first);
  always.pre_tokenizer = { type: "Metaspace", replacement: SPACE, prepend_scheme: "always", split: true };
  always.decoder = { type: "Sequence", decoders: [{ type: "ByteFallback" }, { type: "Fuse" },
    { type: "Metaspace", replacement: SPACE, prepend_scheme: "always", split: true }] };
  v.llama2_metaspace_always_split = always;
  // Normalizers, and added tokens with every flag (ids follow the vocabulary, as the library
  // requires).
  const norm = clone(llama2);
  norm.normalizer = { type: "Sequence", normalizers: [{ type: "NFKC" }, { type: "Lowercase" },
    { type: "Strip", strip_left: true, strip_right: true }, { type: "Prepend", prepend: SPACE },
    { type: "Replace", pattern: { String: " " }, content: SPACE }] };
  norm.added_tokens = norm.added_tokens.map((t) => t.content === "<image>" ? { ...t, lstrip: true, rstrip: true } : t);
  norm.added_tokens.push(token(32002, "wug", { single_word: true, normalized: true }));
  norm.added_tokens.push(token(32003, "<|x|>", { rstrip: true }));
  norm.added_tokens.push(token(32004, "blick", { single_word: true }));
  v.llama2_normalizers_flags = norm;
  return v;
}

// Lines around the added tokens of the variants, and edge cases of spaces.
const SPECIAL_LINES = ["", " ", "  ", "\n", "<s>", "</s></s>", "<image>", " <image> ", "a<image>b",
  "USER: <image>\nWhat is this? ASSISTANT:", "USER:  <image>  \n  x", "<pad><pad>", "<s >",
  "wug world wug", "say wug, wug!", "wugwug", "Wug WUG wug_ a wug", "<|x|>   y",
  "a <|x|>\tb", "blick blicker blick_ ablick blick.", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>",
  "<|image|>What is this?", "\u00a0<image>\u3000", "ＦＵＬＬ ｗｉｄｔｈ ﬁ", "İstanbul ΣΑΣ"];

function writeJsonl(file, rows) {
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
}

const out = args.out;
fs.mkdirSync(out, { recursive: true });
const corpus = [...makeCorpus(Number(args.lines || 2000)), ...SPECIAL_LINES];
writeJsonl(path.join(out, "corpus.jsonl"), corpus);
const all = variants(JSON.parse(fs.readFileSync(args.llama2, "utf8")),
                     JSON.parse(fs.readFileSync(args.llama3, "utf8")));
for (const [name, json] of Object.entries(all)) {
  const dir = path.join(out, name);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "tokenizer.json");
  fs.writeFileSync(file, JSON.stringify(json));
  const tok = await Tokenizer.fromFile(file);
  const rows = [];
  for (const line of corpus) {
    const ids = Array.from((await tok.encode(line, null, { addSpecialTokens: true })).getIds());
    rows.push({ ids, text: await tok.decode(ids, false), text_skip: await tok.decode(ids, true) });
  }
  writeJsonl(path.join(out, name + ".jsonl"), rows);
}
fs.writeFileSync(path.join(out, "variants.json"), JSON.stringify(Object.keys(all)));
