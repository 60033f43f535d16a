"""Which language a buyer wrote in, English or Spanish, for the replies they get back.

A count of common function words and the opt-out words of each language, with Spanish-only
characters (ñ, accented vowels, ¿ ¡) counted twice; English wins ties, since the deal texts
are in English. Short messages decide on their one word: "ALTO" is Spanish, "STOP" English.

    >>> detect_language("No más mensajes, por favor")
    'es'
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Language = Literal["en", "es"]

_SPANISH_CHARS = re.compile(r"[ñáéíóúü¿¡]", re.IGNORECASE)
_SPANISH = frozenset(
    {
        "de", "la", "el", "los", "las", "que", "por", "favor", "porfa", "para", "mas", "mi",
        "es", "esta", "estoy", "quiero", "mensajes", "mensaje", "gracias", "hola", "si", "una",
        "con", "cuando", "precio", "casa", "basta", "alto", "parar", "pare", "paren", "baja",
        "numero", "equivocado", "ya", "ayuda", "cancelar", "escribas", "escriban", "mandes",
        "manden", "envies", "textos", "lista", "dar", "darme", "dejen", "deja", "molesten",
        "usted", "ustedes", "tengo", "cuanto", "donde", "interesa", "pero", "muy", "esa", "ese",
        "fin", "detener", "informacion", "senor", "ahora", "nada", "nunca", "buenas", "buenos",
        "escribe", "escriba", "mande", "envie", "envien", "contactes", "contacte", "contacten",
        "llames", "llamen", "molestes", "moleste", "desuscribirme", "pares", "des",
        "den", "denme", "deme", "dejenme", "borren", "saquenme", "quitenme", "quiten", "alta",
    }
)  # fmt: skip
_ENGLISH = frozenset(
    {
        "the", "a", "to", "is", "are", "you", "your", "my", "i", "please", "stop", "text",
        "texts", "texting", "help", "info", "what", "when", "can", "we", "this", "that", "of",
        "it", "and", "for", "on", "in", "at", "not", "dont", "want", "more", "number", "wrong",
        "cancel", "end", "quit", "thanks", "yes", "deal", "house", "unsubscribe", "remove",
        "off", "list", "out", "opt", "how", "much", "price", "where", "just", "sorry", "hi",
    }
)  # fmt: skip


def detect_language(body: str, *, plain: str | None = None) -> Language:
    """ "es" when the message reads as Spanish, else "en". `plain`: the body already brought
    to one spelling per word (`keywords` passes its own, with "A L T O" joined)."""
    text = unicodedata.normalize("NFKC", body or "")
    spanish = 2 * len(_SPANISH_CHARS.findall(text))
    if plain is None:
        plain = unicodedata.normalize("NFKD", text.casefold())
        plain = "".join(char for char in plain if not unicodedata.combining(char))
    words = re.findall(r"[a-z]+", re.sub(r"['’‘`]", "", plain))
    spanish += sum(word in _SPANISH for word in words)
    english = sum(word in _ENGLISH for word in words)
    return "es" if spanish > english else "en"
