"""The 41 structures of QuantConnect LEAN's ``OptionStrategies``, in the spec's order.

Parameter order, leg order, signs, ratios and validation follow LEAN so an algorithm ports by name.
A "short" (or opposite) structure is derived with :meth:`StrategyDef.negated`: every leg negated,
same parameters and the same rules (``short_iron_condor`` renames its parameters in place, as the spec lists them).
LEAN's ``butterfly_call`` / ``butterfly_put`` are aliases, registered in :mod:`.registry`.
"""

from __future__ import annotations

from hybrid.options.catalogue.structure import About, StrategyDef, define

_NEAR_FAR = "near_expiration far_expiration"
_DESCENDING = "higher_strike > middle_strike > lower_strike"
_EQUAL_WINGS = "higher_strike - middle_strike == middle_strike - lower_strike"

covered_call = define(
    "covered_call",
    "strike",
    "C(strike)-1 U+M",
    [],
    About(
        "Covered Call",
        "stock",
        "debit",
        "bullish",
        "short",
        "Own 100 shares and sell a call on them: income for a capped upside.",
    ),
)
covered_put = define(
    "covered_put",
    "strike",
    "P(strike)-1 U-M",
    [],
    About(
        "Covered Put",
        "stock",
        "credit",
        "bearish",
        "short",
        "Short 100 shares and sell a put: income for a capped downside profit.",
    ),
)
protective_collar = define(
    "protective_collar",
    "call_strike put_strike",
    "C(call_strike)-1 P(put_strike)+1 U+M",
    ["call_strike >= put_strike"],
    About(
        "Protective Collar",
        "stock",
        "debit",
        "bullish",
        "neutral",
        "Own 100 shares, buy a put and sell a higher call: a floor paid for by a cap.",
    ),
)
conversion = define(
    "conversion",
    "strike",
    "C(strike)-1 P(strike)+1 U+M",
    [],
    About(
        "Conversion",
        "arbitrage",
        "debit",
        "neutral",
        "neutral",
        "Long stock against a synthetic short at one strike: a fixed value at expiry.",
    ),
)
naked_call = define(
    "naked_call",
    "strike",
    "C(strike)-1",
    [],
    About(
        "Naked Call",
        "single",
        "credit",
        "bearish",
        "short",
        "Sell an uncovered call: keep the premium, unlimited loss on a rally.",
    ),
)
naked_put = define(
    "naked_put",
    "strike",
    "P(strike)-1",
    [],
    About(
        "Naked Put",
        "single",
        "credit",
        "bullish",
        "short",
        "Sell an uncovered put: keep the premium, large loss on a fall.",
    ),
)
bull_call_spread = define(
    "bull_call_spread",
    "leg1_strike leg2_strike",
    "C(leg1_strike)+1 C(leg2_strike)-1",
    ["leg1_strike < leg2_strike"],
    About(
        "Bull Call Spread",
        "vertical",
        "debit",
        "bullish",
        "neutral",
        "Buy a call, sell a higher call: a capped gain on a rise for a capped debit.",
    ),
)
bear_put_spread = define(
    "bear_put_spread",
    "leg1_strike leg2_strike",
    "P(leg1_strike)+1 P(leg2_strike)-1",
    ["leg1_strike > leg2_strike"],
    About(
        "Bear Put Spread",
        "vertical",
        "debit",
        "bearish",
        "neutral",
        "Buy a put, sell a lower put: a capped gain on a fall for a capped debit.",
    ),
)
straddle = define(
    "straddle",
    "strike",
    "C(strike)+1 P(strike)+1",
    [],
    About(
        "Straddle",
        "straddle",
        "debit",
        "neutral",
        "long",
        "Buy a call and a put at one strike: gains on a large move either way.",
    ),
)
strangle = define(
    "strangle",
    "call_strike put_strike",
    "C(call_strike)+1 P(put_strike)+1",
    ["call_strike > put_strike"],
    About(
        "Strangle",
        "strangle",
        "debit",
        "neutral",
        "long",
        "Buy an OTM call and an OTM put: a cheaper straddle that needs a larger move.",
    ),
)
call_butterfly = define(
    "call_butterfly",
    "higher_strike middle_strike lower_strike",
    "C(higher_strike)+1 C(middle_strike)-2 C(lower_strike)+1",
    [_DESCENDING, _EQUAL_WINGS],
    About(
        "Call Butterfly",
        "butterfly",
        "debit",
        "neutral",
        "short",
        "Long the wings, short two bodies in calls: most profit at the middle strike.",
    ),
)
put_butterfly = define(
    "put_butterfly",
    "higher_strike middle_strike lower_strike",
    "P(higher_strike)+1 P(middle_strike)-2 P(lower_strike)+1",
    [_DESCENDING, _EQUAL_WINGS],
    About(
        "Put Butterfly",
        "butterfly",
        "debit",
        "neutral",
        "short",
        "Long the wings, short two bodies in puts: most profit at the middle strike.",
    ),
)
call_calendar_spread = define(
    "call_calendar_spread",
    "strike",
    "C(strike)@near_expiration-1 C(strike)@far_expiration+1",
    ["near_expiration < far_expiration"],
    About(
        "Call Calendar Spread",
        "calendar",
        "debit",
        "neutral",
        "long",
        "Sell a near call, buy a far call at one strike: earns the near leg's faster decay.",
    ),
    expiries=_NEAR_FAR,
)
put_calendar_spread = define(
    "put_calendar_spread",
    "strike",
    "P(strike)@near_expiration-1 P(strike)@far_expiration+1",
    ["near_expiration < far_expiration"],
    About(
        "Put Calendar Spread",
        "calendar",
        "debit",
        "neutral",
        "long",
        "Sell a near put, buy a far put at one strike: earns the near leg's faster decay.",
    ),
    expiries=_NEAR_FAR,
)
iron_condor = define(
    "iron_condor",
    "long_put_strike short_put_strike short_call_strike long_call_strike",
    "P(long_put_strike)+1 P(short_put_strike)-1 C(short_call_strike)-1 C(long_call_strike)+1",
    ["long_put_strike < short_put_strike <= short_call_strike < long_call_strike"],
    About(
        "Iron Condor",
        "condor",
        "credit",
        "neutral",
        "short",
        "Sell a put spread and a call spread: keeps the credit if the price stays in range.",
    ),
)
iron_butterfly = define(
    "iron_butterfly",
    "otm_put_strike atm_strike otm_call_strike",
    "P(otm_put_strike)+1 P(atm_strike)-1 C(atm_strike)-1 C(otm_call_strike)+1",
    ["otm_put_strike < atm_strike < otm_call_strike", "atm_strike - otm_put_strike == otm_call_strike - atm_strike"],
    About(
        "Iron Butterfly",
        "butterfly",
        "credit",
        "neutral",
        "short",
        "Sell an ATM straddle, buy equal-width wings: a large credit, most kept at the ATM strike.",
    ),
)
box_spread = define(
    "box_spread",
    "higher_strike lower_strike",
    "P(higher_strike)+1 P(lower_strike)-1 C(lower_strike)+1 C(higher_strike)-1",
    ["higher_strike > lower_strike"],
    About(
        "Box Spread",
        "arbitrage",
        "debit",
        "neutral",
        "neutral",
        "A bull call spread plus a bear put spread: worth the strike width at expiry (a loan).",
    ),
)
jelly_roll = define(
    "jelly_roll",
    "strike",
    "C(strike)@near_expiration-1 C(strike)@far_expiration+1 P(strike)@near_expiration+1 P(strike)@far_expiration-1",
    ["near_expiration < far_expiration"],
    About(
        "Jelly Roll",
        "arbitrage",
        "debit",
        "neutral",
        "neutral",
        "A long call calendar and a short put calendar: trades the carry between two expiries.",
    ),
    expiries=_NEAR_FAR,
)
bear_call_ladder = define(
    "bear_call_ladder",
    "lower_strike middle_strike higher_strike",
    "C(lower_strike)-1 C(middle_strike)+1 C(higher_strike)+1",
    ["lower_strike < middle_strike < higher_strike"],
    About(
        "Bear Call Ladder",
        "ladder",
        "credit",
        "bullish",
        "long",
        "Sell a call, buy two higher calls: a credit if it falls, unlimited gain on a big rally.",
    ),
)
bear_put_ladder = define(
    "bear_put_ladder",
    "higher_strike middle_strike lower_strike",
    "P(higher_strike)+1 P(middle_strike)-1 P(lower_strike)-1",
    ["higher_strike > middle_strike > lower_strike"],
    About(
        "Bear Put Ladder",
        "ladder",
        "debit",
        "bearish",
        "short",
        "A bear put spread plus a lower short put: cheaper, but a large loss on a crash.",
    ),
)
call_backspread = define(
    "call_backspread",
    "lower_strike higher_strike",
    "C(lower_strike)-1 C(higher_strike)+2",
    ["lower_strike < higher_strike"],
    About(
        "Call Backspread",
        "ratio",
        "credit",
        "bullish",
        "long",
        "Sell one call, buy two higher calls: unlimited gain on a big rally.",
    ),
)
put_backspread = define(
    "put_backspread",
    "higher_strike lower_strike",
    "P(higher_strike)-1 P(lower_strike)+2",
    ["higher_strike > lower_strike"],
    About(
        "Put Backspread",
        "ratio",
        "credit",
        "bearish",
        "long",
        "Sell one put, buy two lower puts: a large gain on a crash.",
    ),
)


# short_iron_condor's parameters: the same positions as iron_condor's with long and short swapped.
SWAP_LONG_SHORT = {
    "long_put_strike": "short_put_strike",
    "short_put_strike": "long_put_strike",
    "short_call_strike": "long_call_strike",
    "long_call_strike": "short_call_strike",
}

LEAN_STRATEGIES: tuple[StrategyDef, ...] = (
    covered_call,
    covered_call.negated(
        "protective_call",
        About(
            "Protective Call",
            "stock",
            "credit",
            "bearish",
            "long",
            "Short 100 shares with a long call that caps the loss on a rally.",
        ),
    ),
    covered_put,
    covered_put.negated(
        "protective_put",
        About(
            "Protective Put",
            "stock",
            "debit",
            "bullish",
            "long",
            "Own 100 shares insured by a long put that floors the loss.",
        ),
    ),
    protective_collar,
    conversion,
    conversion.negated(
        "reverse_conversion",
        About(
            "Reverse Conversion",
            "arbitrage",
            "credit",
            "neutral",
            "neutral",
            "Short stock against a synthetic long at one strike: a fixed value at expiry.",
        ),
    ),
    naked_call,
    naked_put,
    bull_call_spread,
    bull_call_spread.negated(
        "bear_call_spread",
        About(
            "Bear Call Spread",
            "vertical",
            "credit",
            "bearish",
            "neutral",
            "Sell a call, buy a higher call: keeps the credit unless the price rises.",
        ),
    ),
    bear_put_spread,
    bear_put_spread.negated(
        "bull_put_spread",
        About(
            "Bull Put Spread",
            "vertical",
            "credit",
            "bullish",
            "neutral",
            "Sell a put, buy a lower put: keeps the credit unless the price falls.",
        ),
    ),
    straddle,
    straddle.negated(
        "short_straddle",
        About(
            "Short Straddle",
            "straddle",
            "credit",
            "neutral",
            "short",
            "Sell a call and a put at one strike: keeps the credit if the price stays put.",
        ),
    ),
    strangle,
    strangle.negated(
        "short_strangle",
        About(
            "Short Strangle",
            "strangle",
            "credit",
            "neutral",
            "short",
            "Sell an OTM call and an OTM put: keeps the credit inside a wide range.",
        ),
    ),
    call_butterfly,
    call_butterfly.negated(
        "short_butterfly_call",
        About(
            "Short Call Butterfly",
            "butterfly",
            "credit",
            "neutral",
            "long",
            "Short the wings, long two bodies in calls: a small credit kept on a large move.",
        ),
    ),
    put_butterfly,
    put_butterfly.negated(
        "short_butterfly_put",
        About(
            "Short Put Butterfly",
            "butterfly",
            "credit",
            "neutral",
            "long",
            "Short the wings, long two bodies in puts: a small credit kept on a large move.",
        ),
    ),
    call_calendar_spread,
    call_calendar_spread.negated(
        "short_call_calendar_spread",
        About(
            "Short Call Calendar Spread",
            "calendar",
            "credit",
            "neutral",
            "short",
            "Buy a near call, sell a far call: gains on a large move or a fall in volatility.",
        ),
    ),
    put_calendar_spread,
    put_calendar_spread.negated(
        "short_put_calendar_spread",
        About(
            "Short Put Calendar Spread",
            "calendar",
            "credit",
            "neutral",
            "short",
            "Buy a near put, sell a far put: gains on a large move or a fall in volatility.",
        ),
    ),
    iron_condor,
    iron_condor.negated(
        "short_iron_condor",
        About(
            "Short Iron Condor",
            "condor",
            "debit",
            "neutral",
            "long",
            "Buy a put spread and a call spread: gains when the price leaves the range.",
        ),
        SWAP_LONG_SHORT,
    ),
    iron_butterfly,
    iron_butterfly.negated(
        "short_iron_butterfly",
        About(
            "Short Iron Butterfly",
            "butterfly",
            "debit",
            "neutral",
            "long",
            "Buy an ATM straddle, sell the wings: a cheaper straddle with capped gains.",
        ),
    ),
    box_spread,
    box_spread.negated(
        "short_box_spread",
        About(
            "Short Box Spread",
            "arbitrage",
            "credit",
            "neutral",
            "neutral",
            "Sell a box: receive cash now, owe the strike width at expiry (a borrowing).",
        ),
    ),
    jelly_roll,
    jelly_roll.negated(
        "short_jelly_roll",
        About(
            "Short Jelly Roll",
            "arbitrage",
            "credit",
            "neutral",
            "neutral",
            "A short call calendar and a long put calendar: the jelly roll's other side.",
        ),
    ),
    bear_call_ladder,
    bear_call_ladder.negated(
        "bull_call_ladder",
        About(
            "Bull Call Ladder",
            "ladder",
            "debit",
            "bullish",
            "short",
            "A bull call spread plus a higher short call: cheaper, unlimited risk on a big rally.",
        ),
    ),
    bear_put_ladder,
    bear_put_ladder.negated(
        "bull_put_ladder",
        About(
            "Bull Put Ladder",
            "ladder",
            "credit",
            "bearish",
            "long",
            "Sell a put, buy two lower puts: a credit if it rises, a large gain on a crash.",
        ),
    ),
    call_backspread,
    call_backspread.negated(
        "short_call_backspread",
        About(
            "Short Call Backspread",
            "ratio",
            "debit",
            "bullish",
            "short",
            "Buy one call, sell two higher calls (1x2 ratio): best at the higher strike.",
        ),
    ),
    put_backspread,
    put_backspread.negated(
        "short_put_backspread",
        About(
            "Short Put Backspread",
            "ratio",
            "debit",
            "bearish",
            "short",
            "Buy one put, sell two lower puts (1x2 ratio): best at the lower strike.",
        ),
    ),
)
