// Two things for a book in two languages: a link from every page to the same page in the other
// edition (English at the root, Korean in ko/), and a search that finds Korean words.
(() => {
    'use strict';
    const korean = document.documentElement.lang === 'ko';

    // The page's path inside its edition, with its query and #anchor; the other edition has the
    // same path (and, where a heading has an explicit {#id}, the same anchor).
    const root = new URL(path_to_root || './', location.href).href;
    if (location.href.startsWith(root)) {
        const here = location.href.slice(root.length);
        const link = document.createElement('a');
        link.className = 'lang-switch';
        link.href = new URL((korean ? '../' : 'ko/') + here, root).href;
        link.hreflang = link.lang = korean ? 'en' : 'ko';
        link.textContent = korean ? 'English' : '한국어';
        link.title = korean ? 'This page in English' : '이 페이지의 한국어판';
        const buttons = document.querySelector('.right-buttons');
        if (buttons) buttons.prepend(link);
    }

    // mdBook's search index keeps only words made of ASCII letters and digits, so it holds no
    // Korean word at all. A query with Hangul in it searches the stored text of each section
    // instead: every word of the query must occur (as part of a word, so 세마포어 finds 세마포어를),
    // titles count most.
    const hangul = /[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]/;
    const occurrences = (text, word) => (text ? text.toLowerCase().split(word).length - 1 : 0);
    function searchText(index, query) {
        const words = query.toLowerCase().split(/\s+/).filter(Boolean);
        const results = [];
        for (const [ref, doc] of Object.entries(index.documentStore.docs)) {
            let score = 0;
            for (const word of words) {
                const found = 10 * occurrences(doc.title, word)
                    + 3 * occurrences(doc.breadcrumbs, word)
                    + occurrences(doc.body, word);
                if (found === 0) { score = 0; break; }
                score += found;
            }
            if (score > 0) results.push({ ref, score, doc });
        }
        return results.sort((a, b) => b.score - a.score);
    }
    // On the prototype: the index may have been loaded before this script ran.
    if (window.elasticlunr) {
        const search = elasticlunr.Index.prototype.search;
        elasticlunr.Index.prototype.search = function (query, options) {
            return hangul.test(query) ? searchText(this, query) : search.call(this, query, options);
        };
    }
})();
