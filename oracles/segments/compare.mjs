// Oracle test: frontdesk-domain's SMS encoding and segmentation against Twilio's own segment
// calculator (npm sms-segments-calculator, pinned in package.json).
//
// Generates strings deterministically (seeded PRNG), runs them all through
// `cargo run -q -p frontdesk-domain --example segments_json` in one go, and compares for each:
// encoding, segment count, units (septets / UTF-16 units) and the exact segment contents.
// Prints every mismatch and a last line `segments oracle: N passed, N failed`; exits 1 on any
// failure. Set SEGMENTS_JSON_CMD to run a different command (e.g. a prebuilt binary).
//
// Known, deliberate difference (see crates/domain/src/sms.rs): for a single grapheme cluster
// longer than 32 UTF-16 units the calculator can overfill a segment; we never do. Generated
// strings containing such clusters are therefore redrawn rather than compared.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { SegmentedMessage } from 'sms-segments-calculator';

const require = createRequire(import.meta.url);
const GraphemeSplitter = require('grapheme-splitter');
const splitter = new GraphemeSplitter();
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// ---- deterministic randomness ------------------------------------------------------------
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = mulberry32(0x5e65);
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1)); // inclusive
const pick = (items) => items[Math.floor(random() * items.length)];
const repeat = (n, gen) => Array.from({ length: n }, gen).join('');

// ---- alphabets ---------------------------------------------------------------------------
// GSM 03.38 basic set as in reference/sms.md §4 (ESC excluded), and the extension table.
const GSM_BASIC = [
  ...'@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡',
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
];
const GSM_EXTENSION = [...'^{}\\[~]|€\f'];
const TEXTY = [...'abcdefghijklmnopqrstuvwxyz     ,.ABCDE0123456789'];
const NON_GSM_BMP = [...'çáíóúâêîôûëïÿœčšžłńśźżğışăţșțαβγδεжзийклм中文字日本語한국어שלוםمرحبا`\t“”‘’–—…•'];
const EMOJI = [
  '😜', '😀', '👍', '❤️', '❤', '✅', '☎️', '🙏', '🎉', '🔥', '💊', '🏥', '🩺', '🦷', '⌚', '☺',
  '👍🏽', '👋🏻', '🤷‍♀️', '👩‍⚕️', '👨‍👩‍👧‍👦', '👩‍❤️‍👨', '👁‍🗨', '🏳️‍🌈', '🧑‍🤝‍🧑', '🫶🏽',
  '🐕‍🦺', '❤️‍🔥', '😮‍💨', '🏴‍☠️', '1️⃣', '#️⃣', '🇮🇹', '🇺🇸', '🇫🇷', '🇩🇪', '🇯🇵',
  '🏴󠁧󠁢󠁳󠁣󠁴󠁿',
];
const FLAGS = ['🇮🇹', '🇺🇸', '🇫🇷', '🇩🇪', '🇯🇵', '🇨🇦', '🇲🇽'];
const REGIONAL = [...'🇦🇧🇨🇩🇪🇫🇬🇭🇮🇯'];
// Code points chosen to exercise grapheme rules: marks, ZWJ, variation selectors, skin tones,
// Hangul jamo, spacing marks, prepends, controls, regional indicators, tags.
const TRICKY = [
  '\u0301', '\u0308', '\u0327', '\u200d', '\ufe0f', '\ufe0e', '🏻', '🏽', '🏿', '\u1100',
  '\u1161', '\u11a8', '\uac00', '\uac01', '\u0915', '\u094d', '\u093f', '\u0600', '\u0d4e',
  '\u0009', '\r', '\n', '\u000c', '🇮', '🇹', '👨', '👩', '❤', '💋', '🤝', '🧑', 'a', 'e',
  '1', '\u20e3', '\u{e0067}', '\u{e007f}', '\u200b', '\u{1f3f3}', '🌈', '♀', '⚕',
];

function gsmText(n, extensionRate = 0) {
  return repeat(n, () => (random() < extensionRate ? pick(GSM_EXTENSION) : pick(GSM_BASIC)));
}
function plainText(n) {
  return repeat(n, () => pick(TEXTY));
}
/** Length in UTF-16 units of the longest calculator grapheme. */
function longestGrapheme(text) {
  return splitter.splitGraphemes(text).reduce((max, g) => Math.max(max, g.length), 0);
}

// ---- cases -------------------------------------------------------------------------------
const cases = [];
const add = (text) => cases.push(text);
/** Adds a generated string, redrawing while it has a cluster the calculator mishandles. */
const addGenerated = (gen) => {
  for (let attempt = 0; attempt < 50; attempt++) {
    const text = gen();
    if (longestGrapheme(text) <= 32) return add(text);
  }
  throw new Error('could not generate a comparable string');
};

// Fixed values from reference/sms.md §4 and edge cases.
add('');
for (const n of [1, 159, 160, 161, 306, 307, 459, 460, 461]) add('1'.repeat(n));
for (const n of [68, 69, 133]) add('😜' + '1'.repeat(n));
for (const n of [66, 67]) add('🇮🇹' + '1'.repeat(n));
for (const n of [69, 70, 71, 134, 135]) add('ç'.repeat(n));
for (const n of [79, 80, 81, 153]) add('€'.repeat(n));
add('\r\n'.repeat(90));
add('a\r\nb'.repeat(40) + 'ç');
add('`'.repeat(10));
add('Ç'.repeat(161));

// GSM basic, around 1, 2 and 3 segments.
for (const [lo, hi] of [[1, 40], [150, 170], [300, 310], [455, 465]]) {
  for (let i = 0; i < 20; i++) addGenerated(() => gsmText(int(lo, hi)));
}
// GSM with extension characters (escape pairs near every boundary).
for (const [lo, hi] of [[70, 90], [145, 165], [295, 312]]) {
  for (let i = 0; i < 20; i++) addGenerated(() => gsmText(int(lo, hi), pick([0.05, 0.3, 1])));
}
// Accents: é/è/à are GSM, ç/á/í are not.
for (let i = 0; i < 30; i++) {
  addGenerated(() => {
    const n = int(50, 320);
    const accents = random() < 0.5 ? [...'éèàùìò'] : [...'éèàçáíó'];
    return repeat(n, () => (random() < 0.1 ? pick(accents) : pick(TEXTY)));
  });
}
// UCS-2 because of one character, around 1, 2, 3 segments.
for (const [lo, hi] of [[60, 75], [130, 140], [195, 205]]) {
  for (let i = 0; i < 20; i++) {
    addGenerated(() => {
      const n = int(lo, hi) - 1;
      const at = int(0, n);
      const text = plainText(n);
      return text.slice(0, at) + pick(NON_GSM_BMP) + text.slice(at);
    });
  }
}
// Emoji, flags and ZWJ sequences mixed into text.
for (let i = 0; i < 60; i++) {
  addGenerated(() => {
    const target = pick([int(55, 75), int(120, 140), int(190, 210), int(300, 310)]);
    let text = '';
    while (text.length < target) {
      const r = random();
      text += r < 0.2 ? pick(EMOJI) : r < 0.3 ? pick(FLAGS) : r < 0.4 ? pick(GSM_EXTENSION) : pick(TEXTY);
    }
    return text;
  });
}
// Runs of regional indicators (odd counts leave a lone one) and of flags.
for (let i = 0; i < 20; i++) {
  addGenerated(() => plainText(int(0, 70)) + repeat(int(1, 40), () => pick(REGIONAL)));
  addGenerated(() => repeat(int(15, 40), () => pick(FLAGS)));
}
// Boundary sweeps: a tricky sequence starting at every offset around the 67-unit cut, so that
// grapheme cluster boundaries decide where the segment ends.
const SWEEP_SEQUENCES = [
  '👨‍👩‍👧‍👦', '🧑‍🤝‍🧑', '👍🏽', '🫶🏽', '🇮🇹🇫🇷', '🇮🇹🇫', 'e\u0301\u0302\u0303', '\u1100\u1161\u11a8',
  '\u0600\u0661', '1️⃣', '🏴󠁧󠁢󠁳󠁣󠁴󠁿', '🏳️‍🌈', '👩‍⚕️', '\r\n\r\n', 'a\u200d👩', '❤️‍🔥',
  '\u0915\u094d\u0937\u093f', 'e' + '\u0301'.repeat(20), 'e' + '\u0301'.repeat(31),
  ('e' + '\u0301'.repeat(31)).repeat(3),
];
for (const sequence of SWEEP_SEQUENCES) {
  for (let k = 52; k <= 68; k += 2) add('ç'.repeat(k) + sequence + 'ç'.repeat(int(5, 80)));
}
// Random sequences of grapheme-rule code points, near boundaries.
for (let i = 0; i < 80; i++) {
  addGenerated(() => {
    const prefix = 'x'.repeat(pick([0, int(40, 66), int(100, 134)]));
    return prefix + repeat(int(5, 60), () => pick(TRICKY));
  });
}
// Random code points from several planes.
for (let i = 0; i < 40; i++) {
  addGenerated(() =>
    repeat(int(1, 150), () => {
      const r = random();
      const code =
        r < 0.5 ? int(0x20, 0x7e) : r < 0.7 ? int(0xa0, 0x24f) : r < 0.85 ? int(0x1f300, 0x1faff) : int(0x3040, 0x30ff);
      return String.fromCodePoint(code);
    }),
  );
}

// ---- ours --------------------------------------------------------------------------------
const input = `${cases.map((text) => JSON.stringify(text)).join('\n')}\n`;
const command = process.env.SEGMENTS_JSON_CMD ?? 'cargo run -q -p frontdesk-domain --example segments_json';
const run = spawnSync(command, {
  cwd: repoRoot,
  input,
  shell: true,
  encoding: 'utf8',
  maxBuffer: 256 * 1024 * 1024,
  stdio: ['pipe', 'pipe', 'inherit'],
});
if (run.status !== 0) {
  console.error(`\`${command}\` failed with status ${run.status}`);
  process.exit(1);
}
const ours = run.stdout.trimEnd().split('\n').map((line) => JSON.parse(line));
if (ours.length !== cases.length) {
  console.error(`expected ${cases.length} results, got ${ours.length}`);
  process.exit(1);
}

// ---- compare -----------------------------------------------------------------------------
const show = (text) => (text.length > 90 ? `${JSON.stringify(text.slice(0, 90))}… (${text.length} units)` : JSON.stringify(text));
let passed = 0;
let failed = 0;
cases.forEach((text, index) => {
  const oracle = new SegmentedMessage(text);
  const expected = {
    encoding: oracle.encodingName,
    segments: oracle.segmentsCount,
    units: oracle.encodingName === 'GSM-7' ? oracle.numberOfCharacters : oracle.messageSize / 16,
    // Array.from first: Segment subclasses Array, and its constructor (used by filter/map
    // through Symbol.species) adds header placeholders of its own.
    parts: oracle.segments.map((segment) =>
      Array.from(segment)
        .filter((unit) => !unit.isUserDataHeader)
        .map((unit) => unit.raw)
        .join(''),
    ),
  };
  const got = ours[index];
  const problems = [];
  if (got.error) problems.push(`our example rejected it: ${got.error}`);
  for (const field of ['encoding', 'segments', 'units']) {
    if (got[field] !== expected[field]) problems.push(`${field}: ours ${got[field]}, calculator ${expected[field]}`);
  }
  if (JSON.stringify(got.parts) !== JSON.stringify(expected.parts)) {
    problems.push(`parts differ:\n      ours       ${JSON.stringify(got.parts)}\n      calculator ${JSON.stringify(expected.parts)}`);
  }
  if ((got.non_gsm_characters?.length ?? 0) > 0 !== (expected.encoding === 'UCS-2')) {
    problems.push(`non_gsm_characters ${JSON.stringify(got.non_gsm_characters)} with ${expected.encoding}`);
  }
  if (problems.length === 0) {
    passed++;
  } else {
    failed++;
    console.log(`MISMATCH #${index} ${show(text)}\n    ${problems.join('\n    ')}`);
  }
});
console.log(`segments oracle: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
