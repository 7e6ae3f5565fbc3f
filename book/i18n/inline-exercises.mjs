// An mdBook preprocessor for the Korean edition and its message extraction: puts the text of the
// generated exercise lists (`{{#include exercises/CRATE.md}}`, written by `cargo xtask
// book-exercises`) into the page before gettext runs, so their prose is translated like the rest.
// Every other include (code, program output) stays for the links preprocessor, after gettext, and
// is never translated.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

if (process.argv[2] === 'supports') process.exit(0); // every renderer

const [context, book] = JSON.parse(readFileSync(0, 'utf8'));
const src = join(context.root, context.config.book.src ?? 'src');
const include = /^\{\{#include (exercises\/[A-Za-z0-9_-]+\.md)\}\}$/;

function inline(content) {
  return content
    .split('\n')
    .map((line) => {
      const found = line.trim().match(include);
      return found ? readFileSync(join(src, found[1]), 'utf8').replace(/\n+$/, '') : line;
    })
    .join('\n');
}

function walk(items) {
  for (const item of items) {
    if (item && item.Chapter) {
      item.Chapter.content = inline(item.Chapter.content);
      walk(item.Chapter.sub_items);
    }
  }
}
walk(book.sections ?? book.items ?? []);
process.stdout.write(JSON.stringify(book));
