// An mdBook preprocessor for the Korean edition: gives every heading the id mdBook derives from
// its English text, as an explicit {#id}, before gettext translates the text. Links to a section
// (`errata.md#semaphores`) and the language switch's #anchor then work in both editions; without
// it a translated heading gets an id made from its Korean words.
//
// mdBook's rule (utils::unique_id_from_content): the heading's text without markup; letters,
// digits, `_` and `-` kept (ASCII lowercased), whitespace to `-`, the rest dropped; a repeated id
// gets -1, -2, ... on the same page. A heading that already has {#id} keeps it.

import { eachChapter } from './preprocessor.mjs';

// The heading's text as mdBook sees it once rendered and stripped of tags.
function plainText(markdown) {
  return markdown
    .split(/(`+[^`]*`+)/)
    .map((part, i) => (i % 2 === 1
      ? part.replace(/^`+|`+$/g, '').trim() // code: its text, verbatim
      : part
        .replace(/!\[[^\]]*\]\([^)]*\)/g, '') // images leave no text
        .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // links leave their text
        .replace(/<[^>]*>/g, '')
        .replace(/\\(.)/g, '$1')
        .replace(/(^|\W)[*_]+|[*_]+(?=\W|$)/g, '$1'))) // emphasis markers, not snake_case
    .join('');
}

function normalizeId(text) {
  let id = '';
  for (const ch of text.trim()) {
    if (/[\p{Alphabetic}\p{N}_-]/u.test(ch)) id += /[A-Z]/.test(ch) ? ch.toLowerCase() : ch;
    else if (/\s/u.test(ch)) id += '-';
  }
  return id;
}

function addIds(content) {
  const seen = new Map();
  let fence = null;
  return content.split('\n').map((line) => {
    const opening = line.match(/^ {0,3}(`{3,}|~{3,})/);
    if (fence) {
      if (opening && opening[1][0] === fence[0] && opening[1].length >= fence.length) fence = null;
      return line;
    }
    if (opening) { fence = opening[1]; return line; }
    const heading = line.match(/^( {0,3}#{1,6})\s+(.*?)(?:\s+#+)?\s*$/);
    if (!heading || /\{#[^}]*\}\s*$/.test(heading[2])) return line;
    const base = normalizeId(plainText(heading[2]));
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    return `${heading[1]} ${heading[2]} {#${count === 0 ? base : `${base}-${count}`}}`;
  }).join('\n');
}

eachChapter(addIds);
