"""``python -m hybrid strategies list | build | analyze``: the strategy catalogue from the command line.

Contract (stable; the web UI and scripts rely on it):

- ``list [--json | --markdown]``: a table; ``--json`` a list of objects with name, aliases,
  display_name, description, category, net, direction, volatility, origin, parameters, strikes,
  expiries, n_strikes, n_expiries, legs, rules, negation_of; ``--markdown`` the catalogue's doc table.
- ``build NAME --strikes K1[,K2,...] --expiries D1[,D2] [--underlying SYM] [--multiplier 100] [--json]``:
  ``--json`` prints exactly ``{"strategy": NAME, "legs": [Leg.to_dict(), ...]}`` where NAME is the
  catalogue's canonical name (an alias or LEAN's PascalCase name is resolved: ``butterfly_call`` builds
  ``call_butterfly``), so the output names one structure one way. ``--underlying`` adds each leg's
  OCC symbol to the table (the JSON carries no symbols).
- ``analyze --legs FILE|- --spot S --vol V [--rate R] [--dividend Q] [--as-of YYYY-MM-DD] [--multiplier 100] [--json]``:
  ``--json`` prints the analytics' result (net_premium, max_profit, max_loss, breakevens,
  probability_of_profit, greeks, payoff) in dollars per one unit.

Bad input of any kind exits 2 with one ``error: ...`` line on stderr.
"""

from __future__ import annotations

import argparse
import json
import re

from hybrid.cli.legs_input import read_legs
from hybrid.cli.parser import UsageError, comma_list, finite_float, iso_date, positive_float, positive_int
from hybrid.cli.table import format_table
from hybrid.options import catalogue
from hybrid.options.catalogue.structure import format_number
from hybrid.options.legs import Leg

_OCC_ROOT = re.compile(r"^[A-Za-z0-9.]{1,6}$")


def occ_root(text: str) -> str:
    if not _OCC_ROOT.match(text):
        raise argparse.ArgumentTypeError(f"must be an OCC root of 1-6 letters, digits or dots, got {text!r}")
    return text.upper()


def register(groups: argparse._SubParsersAction) -> None:
    """Add the ``strategies`` group and its commands to the top-level parser."""
    group = groups.add_parser("strategies", help="the option strategy catalogue: list, build, analyze")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="every strategy with its parameters and metadata")
    form = listing.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="a JSON list of strategy objects")
    form.add_argument("--markdown", action="store_true", help="the documentation table: parameters, legs, rules")
    listing.set_defaults(run=run_list)

    build = commands.add_parser("build", help="the legs of one unit of a strategy")
    build.add_argument("name", help="catalogue name, alias or LEAN name (see `strategies list`)")
    build.add_argument(
        "--strikes",
        required=True,
        type=comma_list,
        metavar="K1[,K2,...]",
        help="strikes in the strategy's parameter order",
    )
    build.add_argument(
        "--expiries",
        required=True,
        type=comma_list,
        metavar="D1[,D2]",
        help="expiries YYYY-MM-DD in the strategy's parameter order",
    )
    build.add_argument("--underlying", type=occ_root, metavar="SYM", help="show OCC symbols for this root")
    build.add_argument("--multiplier", type=positive_int, default=100, help="shares per contract (default 100)")
    build.add_argument("--json", action="store_true", help='print {"strategy": ..., "legs": [...]}')
    build.set_defaults(run=run_build)

    analyze = commands.add_parser("analyze", help="payoff, max P/L, breakevens, probability of profit, Greeks")
    analyze.add_argument("--legs", required=True, metavar="FILE|-", help="legs JSON with a price per leg ('-' = stdin)")
    analyze.add_argument("--spot", required=True, type=positive_float, help="underlying price")
    analyze.add_argument("--vol", required=True, type=positive_float, help="volatility, e.g. 0.2 for 20%%")
    analyze.add_argument("--rate", type=finite_float, default=0.0, help="risk-free rate, continuous (default 0)")
    analyze.add_argument("--dividend", type=finite_float, default=0.0, help="dividend yield, continuous (default 0)")
    analyze.add_argument(
        "--as-of", type=iso_date, default=None, metavar="YYYY-MM-DD", help="valuation date (default today)"
    )
    analyze.add_argument("--multiplier", type=positive_int, default=100, help="shares per contract (default 100)")
    analyze.add_argument("--json", action="store_true", help="print the analysis as JSON")
    analyze.set_defaults(run=run_analyze)


def run_list(args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps(catalogue.listing()))
    elif args.markdown:
        print(catalogue.markdown_table(), end="")
    else:
        rows = [
            (
                item["name"],
                item["n_strikes"],
                item["n_expiries"],
                item["category"],
                item["net"],
                f"{item['direction']}, {item['volatility']} vol",
                item["display_name"] + (f" (alias {', '.join(item['aliases'])})" if item["aliases"] else ""),
            )
            for item in catalogue.listing()
        ]
        print(format_table(("NAME", "STRIKES", "EXPIRIES", "CATEGORY", "NET", "BIAS", "DISPLAY NAME"), rows))
    return 0


def run_build(args: argparse.Namespace) -> int:
    try:
        strategy = catalogue.get_strategy(args.name)
        legs = strategy.build(args.strikes, args.expiries, args.multiplier)
    except catalogue.StrategyError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps({"strategy": strategy.name, "legs": [leg.to_dict() for leg in legs]}))
        return 0
    about = strategy.about
    print(
        f"{strategy.name}: {about.display_name} ({about.category}, {about.net}, "
        f"{about.direction}, {about.volatility} volatility), legs per unit:"
    )
    headers = ["#", "KIND", "STRIKE", "EXPIRY", "QUANTITY"] + (["SYMBOL"] if args.underlying else [])
    rows = [_leg_row(number, leg, args.underlying) for number, leg in enumerate(legs, 1)]
    print(format_table(headers, rows))
    return 0


def _leg_row(number: int, leg: Leg, underlying: str | None) -> list[object]:
    row: list[object] = [
        number,
        leg.kind,
        "" if leg.strike is None else format_number(leg.strike),
        leg.expiry or "",
        f"{leg.quantity:+d}",
    ]
    if underlying:
        # The OCC builder lives beside NautilusTrader's instrument types: import it only when asked.
        from hybrid.options.chain import option_terms
        from hybrid.options.instruments import occ_symbol

        try:
            row.append(underlying if not leg.is_option else occ_symbol(underlying, *option_terms(leg)))
        except ValueError as exc:
            raise UsageError(f"--underlying: {exc}") from None
    return row


def run_analyze(args: argparse.Namespace) -> int:
    legs = read_legs(args.legs)
    # The numerical stack is imported only for analysis, so list and build start fast.
    from hybrid.options.analytics import analyze

    try:
        result = analyze(
            legs,
            spot=args.spot,
            vol=args.vol,
            rate=args.rate,
            dividend=args.dividend,
            as_of=args.as_of,
            multiplier=args.multiplier,
        ).to_dict()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(result))
        return 0
    premium = result["net_premium"]
    greeks = result["greeks"]
    prices = result["payoff"]["price"]
    rows = [
        ("net premium", f"{_dollars(abs(premium))} {'debit' if premium > 0 else 'credit' if premium < 0 else ''}"),
        ("max profit", _dollars(result["max_profit"])),
        ("max loss", _dollars(result["max_loss"])),
        ("breakevens", ", ".join(f"{price:,.2f}" for price in result["breakevens"]) or "none"),
        ("probability of profit", f"{result['probability_of_profit']:.1%}"),
        ("greeks", ", ".join(f"{name} {value:,.2f}" for name, value in greeks.items())),
        ("payoff", f"{len(prices)} prices {prices[0]:,.2f} to {prices[-1]:,.2f} (see --json)"),
    ]
    print(f"per unit (multiplier {args.multiplier}), dollars:")
    print(format_table(None, rows))
    return 0


def _dollars(value: float | None) -> str:
    """Dollars to the cent; ``None`` is how the analytics say a profit or loss has no bound."""
    return "unbounded" if value is None else f"{value:,.2f}"
