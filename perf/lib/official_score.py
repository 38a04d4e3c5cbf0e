#!/usr/bin/env python3
"""A short score table from an official-format results JSON (what rinha.js and rinha-final.js
write), so that a --script run ends with the same kind of table as our own profiles.

Usage: official_score.py RESULTS_JSON

Prints the table on standard output; exit status 1 when the file cannot be read.
"""

import json
import sys


def table(result):
    lag = result.get("lag", {})
    requested = result.get("pagamentos_solicitados", {})
    composition = result.get("multa", {}).get("composicao", {})
    inconsistencies = composition.get(
        "num_inconsistencias", composition.get("total_inconsistencias", 0)
    )
    p99 = result.get("p99", {})
    rows = [
        f"=== rinha score (official script), participant {result.get('participante', '?')} ===",
        f"p99 {p99.get('valor', '?')}   bonus {p99.get('bonus', '?')}",
        f"inconsistencies {inconsistencies}   fine {result.get('multa', {}).get('porcentagem', 0)}",
        f"lag {lag.get('lag', '?')}   requested {lag.get('num_pagamentos_solicitados', '?')}, "
        f"recorded {lag.get('num_pagamentos_total', '?')}, "
        f"failed POSTs {requested.get('qtd_falha', '?')}",
    ]
    for side in ("default", "fallback"):
        books = result.get(f"pagamentos_realizados_{side}", {})
        rows.append(
            f"{side:<9} {books.get('num_pagamentos', 0):>8} payments  "
            f"{books.get('total_bruto', 0):>14.2f} gross  {books.get('total_taxas', 0):>12.2f} fees"
        )
    rows.append(
        f"gross {result.get('total_bruto', 0):.2f}   fees {result.get('total_taxas', 0):.2f}   "
        f"SCORE {result.get('total_liquido', 0):.2f}"
    )
    return "\n".join(rows) + "\n"


def main(argv):
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open(argv[0]) as file:
            result = json.load(file)
    except (OSError, ValueError) as error:
        print(f"official_score: {argv[0]}: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
