# Recipes for instructors and graders. `just` lists them; every recipe is a plain command you can
# also type yourself (see README.md).

# List the recipes.
default:
    @just --list

# Run every test (what graders and CI run).
test:
    cargo test

# Run one chapter's tests, e.g. `just test-chapter ch10-msgq`.
test-chapter crate:
    cargo test -p {{crate}}

# Run a chapter's program: `just run ch10-semaphore`, or `just run ch10-msgq mkq 123`.
run crate bin="" *args="":
    @if [ -z "{{bin}}" ]; then cargo run -q -p {{crate}}; else cargo run -q -p {{crate}} --bin {{bin}} -- {{args}}; fi

# Review changed snapshots: accept or reject each (needs `cargo install cargo-insta`).
review:
    cargo insta test --review || { echo "no cargo-insta: run 'INSTA_UPDATE=always cargo test', then read and commit the changed .snap files"; exit 1; }

# List the System V objects you own (after a demo was killed with kill -9).
ipcs:
    cargo run -q -p ch10-keys --bin ipcclean

# Remove the System V objects you own, never another user's (as root add --key KEY or --all).
clean-ipc *args="":
    cargo run -q -p ch10-keys --bin ipcclean -- --yes {{args}}

# Build the book: English into book/book/, Korean into book/book/ko/ (needs mdBook 0.4.52,
# mdbook-i18n-helpers 0.3.6 — `cargo install --locked mdbook --version 0.4.52`, `cargo install
# --locked mdbook-i18n-helpers --version 0.3.6` — and node for the Korean headings' ids).
# English first: it empties book/book/.
book:
    mdbook build book
    MDBOOK_BOOK__LANGUAGE=ko MDBOOK_BOOK__TITLE='유닉스 IPC를 Rust로 — 워크북' MDBOOK_PREPROCESSOR__HEADING_IDS='{"command": "node book/i18n/heading-ids.mjs", "before": ["gettext"]}' MDBOOK_PREPROCESSOR__GETTEXT='{"before": ["links"]}' MDBOOK_OUTPUT__HTML__SITE_URL=/ko/ mdbook build book -d book/ko

# Serve the book at http://localhost:3000, rebuilding on change: `just serve`, or `just serve ko`
# for the Korean edition (rebuilt when book/po/ko.po changes; its link to English works only in
# the built book).
serve lang="en":
    @if [ "{{lang}}" = ko ]; then MDBOOK_BOOK__LANGUAGE=ko MDBOOK_BOOK__TITLE='유닉스 IPC를 Rust로 — 워크북' MDBOOK_PREPROCESSOR__HEADING_IDS='{"command": "node book/i18n/heading-ids.mjs", "before": ["gettext"]}' MDBOOK_PREPROCESSOR__GETTEXT='{"before": ["links"]}' mdbook serve book -d book/ko; else mdbook serve book; fi

# The benchmark (bench/, not from the texts): a quick look, or `just bench --only pipe,svshm` etc.
bench *args="--quick":
    cargo run --release -p ipc-bench -- {{args}}

# The full benchmark run (about 4 minutes, on a quiet machine), rewriting bench/results/full.*.
bench-results:
    cargo run --release -p ipc-bench -- --csv bench/results/full.csv --svg bench/results/full.svg | tee bench/results/full.txt

# Everything CI checks: fmt, clippy, tests, no leaked objects, the book.
ci:
    bash .ci/run
