// The mdBook preprocessor protocol, shared by this folder's preprocessors: answer `supports`, read
// [context, book] from stdin, rewrite each chapter's Markdown with `edit(content, context)`, write
// the book back.

import { readFileSync } from 'node:fs';

export function eachChapter(edit) {
  if (process.argv[2] === 'supports') process.exit(0); // every renderer
  const [context, book] = JSON.parse(readFileSync(0, 'utf8'));
  const walk = (items) => {
    for (const item of items) {
      if (item && item.Chapter) {
        item.Chapter.content = edit(item.Chapter.content, context);
        walk(item.Chapter.sub_items);
      }
    }
  };
  walk(book.sections ?? book.items ?? []);
  process.stdout.write(JSON.stringify(book));
}
