#!/usr/bin/env bash
# Command-line options of the measuring scripts (perf/bench.sh, perf/profile.sh, perf/aof-cost.sh,
# perf/ceiling.sh, perf/counts.sh), parsed in one place.
# Sourced by perf/lib/stack.sh, so a script that sources stack.sh has perf_options.
#
# Entry points:
#   perf_options NAME SPEC... -- "$@"
#       Every script has --no-install (INSTALL=0), --no-build (BUILD=0) and -h/--help (its header
#       comment). Each SPEC adds an option with a value, `--option=VARIABLE:TYPE:DEFAULT`:
#       VARIABLE is set to DEFAULT, then to the option's value if it is given. TYPE is `count` (a
#       positive integer), `counts` (positive integers separated by spaces, one argument), `flag`
#       (no value: the option sets VARIABLE to 1) or a list of the words allowed, `fp|dwarf`. An
#       unknown option, a missing value or one of the wrong type exits 2 with a message naming
#       NAME.
#   perf_usage SCRIPT
#       Prints the script's header comment: every `#` line after the first, up to the first line
#       that is not a comment.

perf_usage() { # script
  awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$1"
}

perf_option_fail() { # name message
  printf '%s: %s (--help lists the options)\n' "$1" "$2" >&2
  exit 2
}

perf_option_check() { # name option type value
  local name=$1 option=$2 type=$3 value=$4
  if [[ $type == count ]]; then
    [[ $value =~ ^[1-9][0-9]*$ ]] || perf_option_fail "$name" "$option needs a positive integer"
  elif [[ $type == counts ]]; then
    [[ $value =~ ^[1-9][0-9]*( [1-9][0-9]*)*$ ]] ||
      perf_option_fail "$name" "$option needs positive integers separated by spaces"
  else
    [[ "|$type|" == *"|$value|"* ]] || perf_option_fail "$name" "$option needs one of $type"
  fi
}

# shellcheck disable=SC2034 # INSTALL and BUILD are read by the calling script
perf_options() { # name spec... -- arguments...
  local name=$1 spec option variable type matched
  local specs=()
  shift
  while (($# > 0)) && [[ $1 != -- ]]; do
    spec=$1 option=${1%%=*}
    IFS=: read -r variable type _ <<<"${spec#*=}"
    specs+=("$option:$variable:$type")
    printf -v "$variable" '%s' "${spec##*:}"
    shift
  done
  (($# > 0)) || perf_option_fail "$name" "perf_options: no -- before the arguments"
  shift
  INSTALL=1
  BUILD=1
  while (($# > 0)); do
    case $1 in
      --no-install) INSTALL=0 ;;
      --no-build) BUILD=0 ;;
      -h | --help) perf_usage "$0"; exit 0 ;;
      *)
        matched=0
        for spec in "${specs[@]}"; do
          IFS=: read -r option variable type <<<"$spec"
          [[ $1 == "$option" ]] || continue
          matched=1
          if [[ $type == flag ]]; then
            printf -v "$variable" '%s' 1
            break
          fi
          (($# > 1)) || perf_option_fail "$name" "$option needs a value"
          perf_option_check "$name" "$option" "$type" "$2"
          printf -v "$variable" '%s' "$2"
          shift
          break
        done
        ((matched == 1)) || perf_option_fail "$name" "unknown option $1"
        ;;
    esac
    shift
  done
}
