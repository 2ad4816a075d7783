#!/usr/bin/env bash
# Installs or uninstalls vjsearch under a prefix (what `make install` and `make uninstall` run).
#
#   Tools/install.sh install PREFIX BINARY MANUAL_TOOL   # BINARY: the release build, MANUAL_TOOL: generate-manual
#   Tools/install.sh uninstall PREFIX
#   Tools/install.sh stage TREE PREFIX BINARY MANUAL_TOOL   # only the files, under TREE, for a package (Tools/make-deb)
#
# Installs PREFIX/bin/vjsearch, the model bundles of Models/ under PREFIX/share/vjsearch/models (where
# `--model NAME` finds them), man pages under PREFIX/share/man/man1, bash, zsh and fish completions, and the
# systemd user unit (PREFIX/share/systemd/user/vjsearch-watch.service, ExecStart pointing at the installed
# binary). The files are made in a staging folder first and copied in one by one; if a copy fails, every file
# copied so far is removed again and any file it replaced is put back, so a failed install leaves the prefix as it
# was. The list of installed files is kept in PREFIX/share/vjsearch/installed-files for `uninstall`.
set -euo pipefail

die() { echo "error: $*" >&2; exit 1; }

# An absolute path; a `~/` that reached us unexpanded (PREFIX='~/.local') means $HOME.
absolute() { case "$1" in /*) echo "$1" ;; "~") echo "$HOME" ;; "~/"*) echo "$HOME/${1#"~/"}" ;; *) echo "$PWD/$1" ;; esac; }

manifest_of() { echo "$1/share/vjsearch/installed-files"; }

# The nearest folder at or above $1 that exists: where the first new folder would be made.
existing_ancestor() {
    local p="$1"
    while [ ! -e "$p" ]; do p=$(dirname "$p"); done
    echo "$p"
}

# Removes the pages of commands that help hides (developer commands, `help`): a page vjsearch.A.B.1 stays only
# when every step, A under vjsearch and B under A, is listed under SUBCOMMANDS in its parent's --help.
drop_hidden_pages() {  # drop_hidden_pages BINARY MAN1
    local binary="$1" man1="$2" page name step listed
    local -a parent steps
    for page in "$man1"/vjsearch.*.1; do
        name=$(basename "$page" .1); name=${name#vjsearch.}
        parent=()
        listed=1
        IFS=. read -r -a steps <<< "$name"
        for step in "${steps[@]}"; do
            if ! "$binary" "${parent[@]}" --help | sed -n '/^SUBCOMMANDS:/,$p' | grep -qE "^  $step( |$)"; then
                listed=0; break
            fi
            parent+=("$step")
        done
        [ "$listed" = 1 ] && continue
        rm -f "$page"
        # ... and the SEE ALSO cross-references to it.
        sed -i "/^\.Xr vjsearch\.${name//./\\.} 1/d" "$man1"/vjsearch*.1
    done
}

stage() {  # stage STAGING PREFIX BINARY MANUAL_TOOL
    local staging="$1" prefix="$2" binary="$3" manual="$4" root
    root=$(cd "$(dirname "$0")/.." && pwd)
    mkdir -p "$staging/bin" "$staging/share/vjsearch/models" "$staging/share/man/man1" \
        "$staging/share/bash-completion/completions" "$staging/share/zsh/site-functions" \
        "$staging/share/fish/vendor_completions.d" "$staging/share/systemd/user"
    install -m 755 "$binary" "$staging/bin/vjsearch"
    for bundle in "$root"/Models/*/; do
        [ -f "$bundle/config.json" ] || continue
        cp -R "$bundle" "$staging/share/vjsearch/models/$(basename "$bundle")"
    done
    # Recipes for `vjsearch model install`, found at share/vjsearch/models/recipes.
    mkdir -p "$staging/share/vjsearch/models/recipes"
    cp "$root"/Models/recipes/*.json "$staging/share/vjsearch/models/recipes/"
    "$manual" "$staging/bin/vjsearch" --multi-page --output-directory "$staging/share/man/man1" >/dev/null
    drop_hidden_pages "$staging/bin/vjsearch" "$staging/share/man/man1"
    "$staging/bin/vjsearch" --generate-completion-script bash > "$staging/share/bash-completion/completions/vjsearch"
    "$staging/bin/vjsearch" --generate-completion-script zsh > "$staging/share/zsh/site-functions/_vjsearch"
    "$staging/bin/vjsearch" --generate-completion-script fish > "$staging/share/fish/vendor_completions.d/vjsearch.fish"
    sed "s|%h/.local/bin/vjsearch|$prefix/bin/vjsearch|" "$root/Tools/systemd/vjsearch-watch.service" \
        > "$staging/share/systemd/user/vjsearch-watch.service"
}

install_tree() {  # install_tree PREFIX BINARY MANUAL_TOOL
    local prefix="$1" binary="$2" manual="$3" ancestor staging
    [ -x "$binary" ] || die "$binary: not built; run \`make install\`, which builds it"
    ancestor=$(existing_ancestor "$prefix")
    [ -d "$ancestor" ] || die "PREFIX=$prefix: $ancestor is not a folder"
    [ -w "$ancestor" ] || die "PREFIX=$prefix: cannot write to $ancestor (permission denied); pass PREFIX=~/.local, or run as root for a system prefix"
    staging=$(mktemp -d "${TMPDIR:-/tmp}/vjsearch-install.XXXXXX")
    # shellcheck disable=SC2064
    trap "rm -rf '$staging'" EXIT
    stage "$staging/tree" "$prefix" "$binary" "$manual"
    local files=() backups="$staging/backups" done_files=() manifest
    mkdir -p "$backups"
    manifest=$(manifest_of "$prefix")
    mapfile -t files < <(cd "$staging/tree" && find . -type f | sed 's|^\./||' | sort)
    files+=("${manifest#"$prefix/"}")
    (cd "$staging/tree" && printf '%s\n' "${files[@]}") > "$staging/tree/${manifest#"$prefix/"}.new"
    mv "$staging/tree/${manifest#"$prefix/"}.new" "$staging/tree/${manifest#"$prefix/"}"

    rollback() {
        local f
        for f in "${done_files[@]}"; do
            rm -f "$prefix/$f"
            [ -e "$backups/$f" ] && mv "$backups/$f" "$prefix/$f"
        done
        # Folders this run made and left empty.
        (cd "$prefix" 2>/dev/null && find . -depth -type d -empty -newer "$staging" -delete 2>/dev/null) || true
    }
    local f
    for f in "${files[@]}"; do
        if ! { mkdir -p "$(dirname "$prefix/$f")" 2>/dev/null &&
               { [ ! -e "$prefix/$f" ] || { mkdir -p "$(dirname "$backups/$f")" && cp -p "$prefix/$f" "$backups/$f"; }; } &&
               cp -p "$staging/tree/$f" "$prefix/$f.vjsearch-new" 2>/dev/null &&
               mv -f "$prefix/$f.vjsearch-new" "$prefix/$f"; }; then
            rm -f "$prefix/$f.vjsearch-new" 2>/dev/null || true
            done_files+=("$f")
            rollback
            die "PREFIX=$prefix: cannot install $f ($(dirname "$prefix/$f") is not a writable folder); nothing was installed"
        fi
        done_files+=("$f")
    done
    echo "installed ${#files[@]} files under $prefix:"
    echo "  $prefix/bin/vjsearch  (add $prefix/bin to PATH if it is not there)"
    echo "  models in $prefix/share/vjsearch/models; man vjsearch; completions for bash, zsh and fish"
    echo "  systemd user unit: $prefix/share/systemd/user/vjsearch-watch.service"
    echo "remove it all with: make uninstall PREFIX=$prefix"
}

uninstall_tree() {  # uninstall_tree PREFIX
    local prefix="$1" manifest f n=0
    manifest=$(manifest_of "$prefix")
    [ -f "$manifest" ] || die "PREFIX=$prefix: no vjsearch installation there ($manifest is missing)"
    while IFS= read -r f; do
        [ -n "$f" ] || continue
        case "$f" in /*|*..*) continue ;; esac  # only paths inside the prefix, as install wrote them
        if [ -e "$prefix/$f" ] || [ -L "$prefix/$f" ]; then rm -f "$prefix/$f"; n=$((n + 1)); fi
        # The folders left empty, up to the prefix.
        local d
        d=$(dirname "$prefix/$f")
        while [ "$d" != "$prefix" ] && rmdir "$d" 2>/dev/null; do d=$(dirname "$d"); done
    done < "$manifest"
    echo "removed $n files from $prefix"
}

case "${1:-}" in
    install) [ $# -eq 4 ] || die "usage: $0 install PREFIX BINARY MANUAL_TOOL"; install_tree "$(absolute "$2")" "$3" "$4" ;;
    uninstall) [ $# -eq 2 ] || die "usage: $0 uninstall PREFIX"; uninstall_tree "$(absolute "$2")" ;;
    stage) [ $# -eq 5 ] || die "usage: $0 stage TREE PREFIX BINARY MANUAL_TOOL"
           [ ! -e "$2" ] || die "$2: already exists; stage makes a new folder"
           stage "$(absolute "$2")" "$3" "$4" "$5" ;;
    *) die "usage: $0 install PREFIX BINARY MANUAL_TOOL | uninstall PREFIX | stage TREE PREFIX BINARY MANUAL_TOOL" ;;
esac
