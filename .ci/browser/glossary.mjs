// The glossary (book/src/glossary.md) is the single list of term choices; this holds the Korean
// edition to it.
//
//   node .ci/browser/glossary.mjs GLOSSARY_MD KO_PO [SEEDS_DIR]
//
// 1. No English term of the glossary is left in the Korean prose: each translated message of
//    KO_PO, outside code (backticks, fenced blocks, includes), URLs and HTML tags, must not contain
//    a term's English (plural too), except right after its Korean in parentheses, as in
//    "세마포어(semaphore)". The glossary page's own messages are exempt: they list the English.
// 2. With SEEDS_DIR (the source texts), each row's Source is true: a textbook/slides/both term
//    occurs in that text (spaces ignored: the slides' text has none), a workbook term in neither,
//    and each spelling under "Also in the sources" in one of them.

import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const [glossaryPath, poPath, seedsDir] = process.argv.slice(2);
if (!glossaryPath || !poPath) {
  console.error('usage: node glossary.mjs GLOSSARY_MD KO_PO [SEEDS_DIR]');
  process.exit(2);
}
const failures = [];

// Rows of every table whose header starts with | English | Korean |.
const rows = [];
let inTable = false;
for (const [i, line] of readFileSync(glossaryPath, 'utf8').split('\n').entries()) {
  const cells = line.trim().startsWith('|') ? line.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim()) : null;
  if (!cells) { inTable = false; continue; }
  if (cells[0] === 'English' && cells[1] === 'Korean') { inTable = true; continue; }
  if (!inTable || /^-+$/.test(cells[0])) continue;
  const [english, korean, also, source] = cells;
  rows.push({ line: i + 1, english, korean, also: also ?? '', source: source ?? '' });
}
if (rows.length === 0) {
  console.error(`${glossaryPath}: no table with the header | English | Korean | ... |`);
  process.exit(1);
}

// "lock / unlock (P / V)" -> ["lock", "unlock"]: remarks in parentheses and code are not terms.
const terms = (cell) => cell.replace(/\([^)]*\)/g, '').replace(/`[^`]*`/g, '')
  .split(/\s+\/\s+|,\s*/).map((t) => t.trim()).filter(Boolean);

// 1. English left in the Korean prose.
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const checks = [];
for (const row of rows) {
  const koreanTerms = terms(row.korean);
  for (const term of terms(row.english)) {
    if (term.length < 3 || row.korean.toLowerCase().includes(term.toLowerCase())) continue;
    // British and American spellings, and plurals.
    const word = escape(term).replace(/is(e|ation)/g, 'i[sz]$1').replace(/\s+/g, '[\\s-]+');
    checks.push({
      row, term,
      english: new RegExp(`(?<![\\w-])${word}(?:s|es)?(?![\\w-])`, 'i'),
      gloss: koreanTerms.map((k) => new RegExp(`${escape(k)}\\s*\\(${word}(?:s|es)?\\)`, 'gi')),
    });
  }
}

// Messages of a PO file: { line, msgid, msgstr, refs, fuzzy }, obsolete ones skipped.
function parsePo(text) {
  const entries = [];
  let entry = null;
  let field = null;
  const escapes = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v' };
  const unquote = (s) => s.trim().slice(1, -1).replace(/\\([0-7]{1,3}|.)/g, (_, c) =>
    /^[0-7]/.test(c) ? String.fromCharCode(parseInt(c, 8)) : escapes[c] ?? c);
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line.startsWith('#~')) continue;
    if (line === '') { entry = null; field = null; continue; }
    if (!entry) { entry = { line: i + 1, msgid: '', msgstr: '', refs: [], fuzzy: false }; entries.push(entry); }
    if (line.startsWith('#:')) entry.refs.push(...line.slice(2).trim().split(/\s+/));
    else if (line.startsWith('#,')) entry.fuzzy ||= line.includes('fuzzy');
    else if (line.startsWith('msgid ')) { field = 'msgid'; entry.msgid = unquote(line.slice(6)); }
    else if (line.startsWith('msgstr ')) { field = 'msgstr'; entry.msgstr = unquote(line.slice(7)); entry.line = i + 1; }
    else if (line.startsWith('"') && field) entry[field] += unquote(line);
  }
  return entries;
}

// The prose of a translation: code, includes, URLs, HTML tags and man-page names removed.
const prose = (markdown) => markdown
  .replace(/```[\s\S]*?```/g, ' ')
  .replace(/`[^`]*`/g, ' ')
  .replace(/\{\{#[^}]*\}\}/g, ' ')
  .replace(/\]\([^)]*\)/g, '] ')
  .replace(/<[^>]+>/g, ' ')
  .replace(/https?:\/\/\S+/g, ' ')
  .replace(/\b\w+\(\d\w*\)/g, ' ');

let messages = 0;
for (const entry of parsePo(readFileSync(poPath, 'utf8'))) {
  if (!entry.msgid || !entry.msgstr || entry.msgstr === entry.msgid) continue;
  if (entry.refs.length && entry.refs.every((r) => r.split(':')[0].endsWith('glossary.md'))) continue;
  messages++;
  const text = prose(entry.msgstr);
  for (const check of checks) {
    const left = check.gloss.reduce((t, gloss) => t.replace(gloss, ' '), text);
    const found = left.match(check.english);
    if (found) {
      failures.push(`${poPath}:${entry.line}: "${found[0]}" left in English (glossary: ${check.row.korean})`);
    }
  }
}
console.log(`glossary: ${rows.length} rows, ${checks.length} English terms checked in ${messages} translated messages`);

// 2. The sources said to use each term.
if (seedsDir && existsSync(seedsDir)) {
  const squash = (s) => s.replace(/\s+/g, '');
  const seeds = readdirSync(seedsDir).filter((f) => f.endsWith('.txt')).sort();
  const textbook = squash(readFileSync(join(seedsDir, seeds.find((f) => f.startsWith('000_'))), 'utf8'));
  const slides = squash(readFileSync(join(seedsDir, seeds.find((f) => f.startsWith('001_'))), 'utf8'));
  const inText = { textbook: (t) => textbook.includes(t), slides: (t) => slides.includes(t) };
  for (const row of rows) {
    const where = `${glossaryPath}:${row.line}`;
    for (const term of terms(row.korean).map(squash)) {
      const tb = inText.textbook(term);
      const sl = inText.slides(term);
      const ok = { textbook: tb, slides: sl, both: tb && sl, workbook: !tb && !sl }[row.source];
      if (ok === undefined) failures.push(`${where}: Source "${row.source}" is none of textbook, slides, both, workbook`);
      else if (!ok) failures.push(`${where}: "${term}" is marked ${row.source} but the textbook ${tb ? 'has' : 'lacks'} it and the slides ${sl ? 'have' : 'lack'} it`);
    }
    for (const term of terms(row.also).map(squash)) {
      if (!inText.textbook(term) && !inText.slides(term)) failures.push(`${where}: "${term}" (also in the sources) is in neither text`);
    }
  }
  console.log(`glossary: sources checked against ${seedsDir}`);
} else {
  console.log(`glossary: NOT RUN: the sources' check (no source texts at ${seedsDir ?? '(not given)'})`);
}

if (failures.length) {
  for (const f of failures) console.log(`  ${f}`);
  console.log(`glossary check failed: ${failures.length} problem(s) above`);
  process.exit(1);
}
console.log('glossary check passed');
