# bash completion for sendflow. Installed as
# share/bash-completion/completions/sendflow; or: source this file.
#
# The commands and options come from the client itself (sendflow --help and
# sendflow COMMAND --help), so this file never lists them a second time and
# cannot drift from the client it completes.
# shellcheck shell=bash

_sendflow() {
    local cur prog cmd words
    cur=${COMP_WORDS[COMP_CWORD]}
    prog=${COMP_WORDS[0]}
    COMPREPLY=()
    # The command: the first word after the program that is not an option
    # (nor the value of --socket).
    local i w
    cmd=
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if [[ $w == --socket ]]; then
            ((i++))
            continue
        fi
        [[ $w == -* ]] && continue
        cmd=$w
        break
    done
    if [[ ${COMP_WORDS[COMP_CWORD - 1]} == --socket || ${COMP_WORDS[COMP_CWORD - 1]} == --output ]]; then
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return
    fi
    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            words="--socket --json --help --version"
        else
            # Entries of the Commands list: two spaces, then the command.
            words=$("$prog" --help 2>/dev/null | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p' | sort -u)
        fi
    elif [[ $cur == -* ]]; then
        words="$("$prog" "$cmd" --help 2>/dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u) --json"
    else
        # The second word of "case open", "clock set", "workflows validate".
        words=$("$prog" "$cmd" --help 2>/dev/null |
            sed -n "s/^  $cmd \([a-z][a-z]*\).*/\1/p" | sort -u)
    fi
    mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
}
complete -F _sendflow sendflow
