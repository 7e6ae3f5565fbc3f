// An mdBook preprocessor for the Korean edition and its message extraction: puts the text of the
// generated exercise lists (`{{#include exercises/CRATE.md}}`, written by `cargo xtask
// book-exercises`) into the page before gettext runs, so their prose is translated like the rest.
// Every other include (code, program output) stays for the links preprocessor, after gettext, and
// is never translated.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { eachChapter } from './preprocessor.mjs';

const include = /^\{\{#include (exercises\/[A-Za-z0-9_-]+\.md)\}\}$/;

function inline(content, context) {
  const src = join(context.root, context.config.book.src ?? 'src');
  return content
    .split('\n')
    .map((line) => {
      const found = line.trim().match(include);
      return found ? readFileSync(join(src, found[1]), 'utf8').replace(/\n+$/, '') : line;
    })
    .join('\n');
}

eachChapter(inline);
