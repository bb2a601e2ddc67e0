"""ISO 4217: the active currency codes and their minor units (digits after the decimal point).

A small table rather than a dependency: codes with 2 minor units are listed plainly, the others by their count.
"""

from decimal import Decimal

_TWO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF CNY COP "
    "CRC CUP CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR "
    "JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO "
    "NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL "
    "THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST XCD YER ZAR ZMW ZWG"
)
_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FOUR = "CLF UYW"

MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(_TWO.split(), 2),
    **dict.fromkeys(_ZERO.split(), 0),
    **dict.fromkeys(_THREE.split(), 3),
    **dict.fromkeys(_FOUR.split(), 4),
}
MAX_MINOR_UNITS = 4


def minor_units(currency: str) -> int | None:
    """The currency's minor units, or None for a code that is not an active ISO 4217 currency."""
    return MINOR_UNITS.get(currency)


def decimals_of(value: Decimal) -> int:
    """How many digits after the decimal point `value` has, trailing zeros ignored (12.50 has 1)."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def quantize(value: Decimal, currency: str) -> Decimal:
    """`value` with exactly the currency's minor units (it must not have more)."""
    return value.quantize(Decimal(1).scaleb(-MINOR_UNITS[currency]))
