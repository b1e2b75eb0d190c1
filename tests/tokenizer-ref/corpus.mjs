// A deterministic tokenizer test corpus: English with contractions in all cases, other scripts
// (accents, Cyrillic, Greek, CJK, Korean, Arabic, Devanagari with combining marks, Thai), code,
// numbers of every length and form, white-space runs of every kind, emoji sequences, and random
// code points from many Unicode blocks. No special-token text ("<|...|>"): those are tested
// separately, since tiktoken's encode_ordinary would read them as plain text.

// mulberry32: a small seeded generator, so every run builds the same corpus.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ("the a red blue green circle square triangle above below left right of is what " +
  "shape colour image photograph astronaut riding horse dog running through grass people " +
  "sitting wooden table outside cafe tokenizer vocabulary attention diffusion language model " +
  "Lavender aligns text image internationalization antidisestablishmentarianism").split(" ");
const CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve",
  "'M", "'LL", "'D", "'x", "’s", "'"];
const SCRIPTS = [
  "Résumé naïveté coöperate façade über Straße Ærøskøbing", "Синий треугольник справа, ёж",
  "Ελληνικά γράμματα ΟΔΟΣ ς", "小さな赤い正方形。東京タワー", "这是一个测试句子，包括标点。",
  "한국어 문장입니다 빨간 원", "مرحبا بالعالم، هذا اختبار", "हिन्दी में परीक्षण वाक्य है",
  "ภาษาไทยไม่มีช่องว่าง", "İstanbul ıi ǅemal ﬁnance ﬀ", "Ǆ ǈ ǋ ᾈ Ⅻ ⅷ ½ ²³ ௰ ٣٤٥",
];
const CODE = [
  "for (int i = 0; i < n; ++i) {\n    sum += a[i] * b[i];\n}\n",
  "def f(x):\n\treturn x ** 2  # square\n\n\nprint(f(3))",
  "x = y + 2; // code-ish text with symbols {}[]()<>",
  "if (!ptr) { return -EINVAL; }\r\n  else { ptr->next = nullptr; }",
  "<div class=\"a\">&amp; &lt;tag&gt;</div>", "SELECT * FROM t WHERE id=42 AND name='x';",
  "  ```json\n  {\"key\": [1, 2.5e-3, null, true]}\n  ```", "$ ls -la | grep '^d' >> out.txt 2>&1",
];
const EMOJI = ["🙂", "👍🏽", "👩‍👩‍👧‍👦", "🇫🇷", "🏳️‍🌈", "❤️", "🤖", "🎉🎉🎉", "✈︎", "©®™"];
const SPACES = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", " \n ", "\u00a0", "\u3000",
  "\u2028", "\u2009", "\u200b", "\v", "\f", "                "];
const BLOCKS = [[0x21, 0x7e], [0xa0, 0x17f], [0x250, 0x2ff], [0x300, 0x36f], [0x370, 0x3ff],
  [0x400, 0x4ff], [0x530, 0x58f], [0x5d0, 0x5ea], [0x600, 0x6ff], [0x900, 0x97f], [0xe00, 0xe7f],
  [0x1100, 0x11ff], [0x1e00, 0x1eff], [0x2000, 0x206f], [0x2070, 0x209f], [0x20a0, 0x20cf],
  [0x2150, 0x218f], [0x2190, 0x21ff], [0x2200, 0x22ff], [0x2460, 0x24ff], [0x2500, 0x257f],
  [0x3040, 0x30ff], [0x4e00, 0x9fff], [0xac00, 0xd7a3], [0xfb00, 0xfb4f], [0xff00, 0xffef],
  [0x1d400, 0x1d7ff], [0x1f300, 0x1faff], [0x20000, 0x2a6df]];

export function makeCorpus(lines, seed = 20240611) {
  const r = rng(seed);
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const int = (n) => Math.floor(r() * n);
  const number = () => {
    switch (int(6)) {
      case 0: return String(int(10));
      case 1: return String(int(1e9)).repeat(1 + int(3));
      case 2: return (r() * 1000).toFixed(1 + int(4));
      case 3: return int(1000) + "," + String(int(1000)).padStart(3, "0") + ",00" + int(10);
      case 4: return "20" + String(int(100)).padStart(2, "0") + "-0" + (1 + int(9)) + "-1" + int(10);
      default: return "+1 (555) " + String(int(1e7)).padStart(7, "0");
    }
  };
  const word = () => {
    let w = pick(WORDS);
    const c = int(8);
    if (c === 0) w = w.toUpperCase();
    else if (c === 1) w = w[0].toUpperCase() + w.slice(1);
    if (int(5) === 0) w += pick(CONTRACTIONS);
    return w;
  };
  const randomText = () => {
    let s = "";
    for (let k = 1 + int(20); k > 0; --k) {
      const [lo, hi] = pick(BLOCKS);
      s += String.fromCodePoint(lo + int(hi - lo + 1));
      if (int(4) === 0) s += pick(SPACES);
    }
    return s;
  };
  const part = () => {
    switch (int(10)) {
      case 0: return pick(SCRIPTS);
      case 1: return pick(CODE);
      case 2: return pick(EMOJI);
      case 3: return number();
      case 4: return randomText();
      case 5: return pick(".,;:!?-()[]\"'".split("")).repeat(1 + int(3));
      default: return word();
    }
  };
  const out = [];
  for (let i = 0; i < lines; ++i) {
    let s = int(10) === 0 ? pick(SPACES) : "";
    for (let k = 1 + int(25); k > 0; --k) s += part() + (int(6) === 0 ? pick(SPACES) : " ");
    if (int(3) === 0) s = s.trimEnd();
    out.push(s);
  }
  return out;
}
