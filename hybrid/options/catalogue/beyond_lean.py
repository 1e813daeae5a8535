"""Structures LEAN users keep asking for (offered by OptionStrat and tastytrade), beyond LEAN's list.

Written the same way as :mod:`.lean`; strikes are listed low to high unless a structure mirrors a
LEAN one (the put versions of butterflies and christmas trees take ``higher, middle, lower`` like
LEAN's put butterfly). Each has a ``short_`` negation except where noted:

- 1x2 ratio spreads are LEAN's short backspreads; they are registered as aliases
  (``call_ratio_spread``, ``put_ratio_spread``), and their negations are the backspreads themselves;
- synthetic long and short stock are each other's negation;
- ``jade_lizard`` has no short version: its point is a credit larger than the call spread's width,
  so that nothing can be lost on a rally, and its negation is not a structure anyone trades.
"""

from __future__ import annotations

from hybrid.options.catalogue.lean import SWAP_LONG_SHORT
from hybrid.options.catalogue.structure import About, StrategyDef, define

_NEAR_FAR = "near_expiration far_expiration"
_FOUR_STRIKES = "lower_strike lower_middle_strike upper_middle_strike higher_strike"
_ASCENDING_4 = "lower_strike < lower_middle_strike < upper_middle_strike < higher_strike"
_EQUAL_CONDOR_WINGS = "lower_middle_strike - lower_strike == higher_strike - upper_middle_strike"
_DESCENDING_3 = "higher_strike > middle_strike > lower_strike"

call_diagonal_spread = define(
    "call_diagonal_spread",
    "near_strike far_strike",
    "C(near_strike)@near_expiration-1 C(far_strike)@far_expiration+1",
    ["near_expiration < far_expiration", "near_strike != far_strike"],
    About(
        "Call Diagonal Spread",
        "diagonal",
        "debit",
        "bullish",
        "long",
        "Sell a near call, buy a far call at another strike (e.g. a poor man's covered call).",
    ),
    expiries=_NEAR_FAR,
    origin="beyond_lean",
)
put_diagonal_spread = define(
    "put_diagonal_spread",
    "near_strike far_strike",
    "P(near_strike)@near_expiration-1 P(far_strike)@far_expiration+1",
    ["near_expiration < far_expiration", "near_strike != far_strike"],
    About(
        "Put Diagonal Spread",
        "diagonal",
        "debit",
        "bearish",
        "long",
        "Sell a near put, buy a far put at another strike.",
    ),
    expiries=_NEAR_FAR,
    origin="beyond_lean",
)
call_condor = define(
    "call_condor",
    _FOUR_STRIKES,
    "C(lower_strike)+1 C(lower_middle_strike)-1 C(upper_middle_strike)-1 C(higher_strike)+1",
    [_ASCENDING_4, _EQUAL_CONDOR_WINGS],
    About(
        "Call Condor",
        "condor",
        "debit",
        "neutral",
        "short",
        "Long the outer calls, short the inner calls: most profit between the inner strikes.",
    ),
    origin="beyond_lean",
)
put_condor = define(
    "put_condor",
    _FOUR_STRIKES,
    "P(lower_strike)+1 P(lower_middle_strike)-1 P(upper_middle_strike)-1 P(higher_strike)+1",
    [_ASCENDING_4, _EQUAL_CONDOR_WINGS],
    About(
        "Put Condor",
        "condor",
        "debit",
        "neutral",
        "short",
        "Long the outer puts, short the inner puts: most profit between the inner strikes.",
    ),
    origin="beyond_lean",
)
call_broken_wing_butterfly = define(
    "call_broken_wing_butterfly",
    "higher_strike middle_strike lower_strike",
    "C(higher_strike)+1 C(middle_strike)-2 C(lower_strike)+1",
    [_DESCENDING_3, "higher_strike - middle_strike > middle_strike - lower_strike"],
    About(
        "Call Broken-Wing Butterfly",
        "butterfly",
        "credit",
        "neutral",
        "short",
        "A call butterfly with a skipped (wider) upper wing: little or no risk below, risk above.",
    ),
    origin="beyond_lean",
)
put_broken_wing_butterfly = define(
    "put_broken_wing_butterfly",
    "higher_strike middle_strike lower_strike",
    "P(higher_strike)+1 P(middle_strike)-2 P(lower_strike)+1",
    [_DESCENDING_3, "middle_strike - lower_strike > higher_strike - middle_strike"],
    About(
        "Put Broken-Wing Butterfly",
        "butterfly",
        "credit",
        "neutral",
        "short",
        "A put butterfly with a skipped (wider) lower wing: little or no risk above, risk below.",
    ),
    origin="beyond_lean",
)
risk_reversal = define(
    "risk_reversal",
    "call_strike put_strike",
    "C(call_strike)+1 P(put_strike)-1",
    ["call_strike > put_strike"],
    About(
        "Risk Reversal",
        "synthetic",
        "even",
        "bullish",
        "neutral",
        "Buy an OTM call paid for by selling an OTM put: stock-like exposure outside the strikes.",
    ),
    origin="beyond_lean",
)
synthetic_long_stock = define(
    "synthetic_long_stock",
    "strike",
    "C(strike)+1 P(strike)-1",
    [],
    About(
        "Synthetic Long Stock",
        "synthetic",
        "even",
        "bullish",
        "neutral",
        "Buy a call, sell a put at one strike: moves like 100 shares for little cash.",
    ),
    origin="beyond_lean",
)
jade_lizard = define(
    "jade_lizard",
    "put_strike short_call_strike long_call_strike",
    "P(put_strike)-1 C(short_call_strike)-1 C(long_call_strike)+1",
    ["put_strike < short_call_strike < long_call_strike"],
    About(
        "Jade Lizard",
        "combination",
        "credit",
        "bullish",
        "short",
        "A short put plus a bear call spread: no upside risk when the credit exceeds the call width.",
    ),
    origin="beyond_lean",
)
call_christmas_tree = define(
    "call_christmas_tree",
    "lower_strike middle_strike higher_strike",
    "C(lower_strike)+1 C(middle_strike)-3 C(higher_strike)+2",
    [
        "lower_strike < middle_strike < higher_strike",
        "middle_strike - lower_strike == 2 * (higher_strike - middle_strike)",
    ],
    About(
        "Call Christmas Tree",
        "butterfly",
        "debit",
        "bullish",
        "short",
        "Buy 1 call, skip a strike, sell 3, buy 2 higher: a cheap bet on a rise to the middle strike.",
    ),
    origin="beyond_lean",
)
put_christmas_tree = define(
    "put_christmas_tree",
    "higher_strike middle_strike lower_strike",
    "P(higher_strike)+1 P(middle_strike)-3 P(lower_strike)+2",
    [_DESCENDING_3, "higher_strike - middle_strike == 2 * (middle_strike - lower_strike)"],
    About(
        "Put Christmas Tree",
        "butterfly",
        "debit",
        "bearish",
        "short",
        "Buy 1 put, skip a strike, sell 3, buy 2 lower: a cheap bet on a fall to the middle strike.",
    ),
    origin="beyond_lean",
)
double_calendar = define(
    "double_calendar",
    "put_strike call_strike",
    "P(put_strike)@near_expiration-1 P(put_strike)@far_expiration+1 "
    "C(call_strike)@near_expiration-1 C(call_strike)@far_expiration+1",
    ["put_strike <= call_strike", "near_expiration < far_expiration"],
    About(
        "Double Calendar",
        "calendar",
        "debit",
        "neutral",
        "long",
        "A put calendar below and a call calendar above: a wide profit zone around the price.",
    ),
    expiries=_NEAR_FAR,
    origin="beyond_lean",
)
double_diagonal = define(
    "double_diagonal",
    "long_put_strike short_put_strike short_call_strike long_call_strike",
    "P(long_put_strike)@far_expiration+1 P(short_put_strike)@near_expiration-1 "
    "C(short_call_strike)@near_expiration-1 C(long_call_strike)@far_expiration+1",
    ["long_put_strike < short_put_strike <= short_call_strike < long_call_strike", "near_expiration < far_expiration"],
    About(
        "Double Diagonal",
        "diagonal",
        "debit",
        "neutral",
        "long",
        "Sell a near strangle, buy a wider far strangle: an iron condor whose wings outlive it.",
    ),
    expiries=_NEAR_FAR,
    origin="beyond_lean",
)

BEYOND_LEAN_STRATEGIES: tuple[StrategyDef, ...] = (
    call_diagonal_spread,
    call_diagonal_spread.negated(
        "short_call_diagonal_spread",
        About(
            "Short Call Diagonal Spread",
            "diagonal",
            "credit",
            "bearish",
            "short",
            "Buy a near call, sell a far call at another strike.",
        ),
    ),
    put_diagonal_spread,
    put_diagonal_spread.negated(
        "short_put_diagonal_spread",
        About(
            "Short Put Diagonal Spread",
            "diagonal",
            "credit",
            "bullish",
            "short",
            "Buy a near put, sell a far put at another strike.",
        ),
    ),
    call_condor,
    call_condor.negated(
        "short_call_condor",
        About(
            "Short Call Condor",
            "condor",
            "credit",
            "neutral",
            "long",
            "Short the outer calls, long the inner calls: gains when the price leaves the range.",
        ),
    ),
    put_condor,
    put_condor.negated(
        "short_put_condor",
        About(
            "Short Put Condor",
            "condor",
            "credit",
            "neutral",
            "long",
            "Short the outer puts, long the inner puts: gains when the price leaves the range.",
        ),
    ),
    call_broken_wing_butterfly,
    call_broken_wing_butterfly.negated(
        "short_call_broken_wing_butterfly",
        About(
            "Short Call Broken-Wing Butterfly",
            "butterfly",
            "debit",
            "bullish",
            "long",
            "The negated call broken-wing butterfly: gains on a large rally.",
        ),
    ),
    put_broken_wing_butterfly,
    put_broken_wing_butterfly.negated(
        "short_put_broken_wing_butterfly",
        About(
            "Short Put Broken-Wing Butterfly",
            "butterfly",
            "debit",
            "bearish",
            "long",
            "The negated put broken-wing butterfly: gains on a large fall.",
        ),
    ),
    risk_reversal,
    risk_reversal.negated(
        "short_risk_reversal",
        About(
            "Short Risk Reversal",
            "synthetic",
            "even",
            "bearish",
            "neutral",
            "Sell an OTM call to buy an OTM put: short stock-like exposure outside the strikes.",
        ),
    ),
    synthetic_long_stock,
    synthetic_long_stock.negated(
        "synthetic_short_stock",
        About(
            "Synthetic Short Stock",
            "synthetic",
            "even",
            "bearish",
            "neutral",
            "Sell a call, buy a put at one strike: moves like -100 shares.",
        ),
    ),
    jade_lizard,
    call_christmas_tree,
    call_christmas_tree.negated(
        "short_call_christmas_tree",
        About(
            "Short Call Christmas Tree",
            "butterfly",
            "credit",
            "neutral",
            "long",
            "The negated call christmas tree: a small credit, lost near the middle strike.",
        ),
    ),
    put_christmas_tree,
    put_christmas_tree.negated(
        "short_put_christmas_tree",
        About(
            "Short Put Christmas Tree",
            "butterfly",
            "credit",
            "neutral",
            "long",
            "The negated put christmas tree: a small credit, lost near the middle strike.",
        ),
    ),
    double_calendar,
    double_calendar.negated(
        "short_double_calendar",
        About(
            "Short Double Calendar",
            "calendar",
            "credit",
            "neutral",
            "short",
            "Buy the near legs, sell the far legs of a double calendar: gains on a large move.",
        ),
    ),
    double_diagonal,
    double_diagonal.negated(
        "short_double_diagonal",
        About(
            "Short Double Diagonal",
            "diagonal",
            "credit",
            "neutral",
            "short",
            "Buy a near strangle, sell a wider far strangle.",
        ),
        SWAP_LONG_SHORT,
    ),
)
