"""The words and phrases `keywords.read_inbound` looks for, in English and Spanish.

Every entry is written the way `keywords` normalises a message: lower case, accents off
("más" -> "mas"), apostrophes out ("don't" -> "dont"), one word per item. Kept apart from the
logic so that adding a phrasing is a data change (and a row in tests/data/optout_cases.csv).

Sources: CTIA Messaging Principles and Best Practices (STOP, QUIT, END, REVOKE, OPT OUT,
CANCEL, UNSUBSCRIBE, STOPALL; HELP, INFO), the FCC's 2024 revocation order (47 CFR
64.1200(a)(10): any reasonable means, in any language the messages were sent in or the
consumer uses), and common Spanish wording of the same requests.
"""

from __future__ import annotations

# Words that revoke consent when they stand alone, as a sentence of their own ("Stop."), or
# govern the messages ("stop texting me"), but that also occur in ordinary talk about a deal
# ("can we stop at the property"): anywhere else in a message they make a *possible* opt-out.
STRONG = frozenset(
    {
        "stop", "stopall", "unsubscribe", "optout", "revoke",
        "basta", "parar", "pare", "paren", "parale", "detener", "detengan", "detente",
        "desuscribir", "desuscribirme", "desuscribanme",
    }
)  # fmt: skip

# Everyday words (CTIA's END, CANCEL, QUIT and their Spanish): an opt-out alone or governing the
# messages ("cancel my subscription"); in other sentences ("cancel the showing") they are talk.
EVERYDAY = frozenset(
    {"end", "cancel", "quit", "cancelar", "cancela", "cancelen", "fin", "terminar"}
)

# Spanish words with an ordinary meaning far more often than a stop meaning: PARA is also
# "for", ALTO also "high", BAJA also "low". An opt-out alone or governing the messages; in a
# short message or as its first word a possible opt-out ("precio alto", "para cuando?").
WEAK = frozenset({"para", "alto", "baja"})

# The words a request to stop governs: "stop texting", "para de escribirme".
ABOUT_MESSAGES = frozenset(
    {
        "text", "texts", "texting", "txt", "txts", "txting", "sms", "message", "messages",
        "messaging", "msg", "msgs", "contacting", "calling", "alerts", "notifications",
        "subscription", "sending", "spamming", "spam",
        "mensajes", "mensaje", "msj", "msjs", "textos", "texto", "escribir", "escribirme",
        "escribiendo", "escribiendome", "mandar", "mandarme", "mandando", "mandandome",
        "enviar", "enviarme", "enviando", "enviandome", "contactar", "contactarme",
        "contactando", "llamar", "llamarme", "llamando", "llamandome", "molestar",
        "molestarme", "molestando", "suscripcion", "notificaciones", "alertas",
    }
)  # fmt: skip

# Phrases that ask to stop wherever they stand (checked on whole words, in order).
ALWAYS = (
    ("stop", "all"), ("opt", "out"), ("opt", "me", "out"), ("opting", "out"), ("un", "subscribe"),
    ("remove", "me"), ("remove", "my", "number"), ("remove", "my", "name"), ("remove", "this",
    "number"), ("delete", "my", "number"), ("take", "me", "off"), ("take", "my", "number", "off"),
    ("lose", "my", "number"), ("dont", "text"), ("do", "not", "text"), ("dont", "message"),
    ("do", "not", "message"), ("dont", "contact"), ("do", "not", "contact"), ("no", "more",
    "texts"), ("no", "more", "text"), ("no", "more", "messages"), ("no", "more", "msgs"),
    ("wrong", "number"), ("wrong", "person"), ("leave", "me", "alone"),
    ("no", "me", "escribas"), ("no", "me", "escriba"), ("no", "me", "escriban"),
    ("no", "me", "escribe"), ("no", "me", "mandes"), ("no", "me", "mande"),
    ("no", "me", "manden"), ("no", "me", "envies"), ("no", "me", "envie"),
    ("no", "me", "envien"), ("no", "me", "contactes"), ("no", "me", "contacte"),
    ("no", "me", "contacten"), ("no", "me", "llames"), ("no", "me", "llamen"),
    ("no", "me", "molestes"), ("no", "me", "moleste"), ("no", "me", "molesten"),
    ("no", "mas", "mensajes"), ("no", "mas", "textos"), ("no", "mas", "msj"),
    ("no", "quiero", "mas", "mensajes"), ("no", "quiero", "recibir"),
    ("dar", "de", "baja"), ("darme", "de", "baja"), ("dame", "de", "baja"),
    ("denme", "de", "baja"), ("deme", "de", "baja"), ("me", "doy", "de", "baja"),
    ("des", "de", "baja"), ("den", "de", "baja"),
    ("borrar", "mi", "numero"), ("borren", "mi", "numero"), ("borra", "mi", "numero"),
    ("eliminar", "mi", "numero"), ("eliminen", "mi", "numero"), ("quiten", "mi", "numero"),
    *(
        (verb, "de", whose, "lista")
        for verb in ("sacame", "saquenme", "quitame", "quitenme", "borrame", "borrenme")
        for whose in ("la", "su", "tu", "esta", "sus", "las")
    ),
    ("numero", "equivocado"), ("equivocado", "de", "numero"), ("dejame", "en", "paz"),
    ("dejenme", "en", "paz"),
)  # fmt: skip

# Phrases that ask to stop only when they stand alone ("no más" - "no más de 200 mil" is a
# budget).
BARE_PHRASES = (("no", "mas"),)

# "deja de escribirme": verbs that ask to stop only when they govern the messages.
CEASE = frozenset({"deja", "dejen", "dejar", "deje", "cease"})

# Visits, not requests: "I'll stop by the house", "stop in", "stop over".
VISIT_AFTER_STOP = frozenset({"by", "in", "over"})

# Words before a request that turn it round: "don't stop", "no pares", "can't stop thinking".
NEGATIONS = frozenset(
    {"dont", "never", "cant", "cannot", "wont", "not", "didnt", "doesnt", "no", "nunca"}
)

# Words that carry no meaning of their own next to a request ("STOP please!!", "alto ya").
FILLER = frozenset(
    {
        "please", "pls", "plz", "me", "now", "it", "i", "thanks", "thank", "you", "thx", "ty",
        "ok", "okay", "just", "all", "this", "already", "asap", "immediately", "right", "away",
        "hi", "hello", "sorry", "the", "that", "u", "sir", "maam", "seriously", "again", "ya",
        "por", "favor", "porfavor", "porfa", "gracias", "ahora", "mismo", "hola", "senor",
        "senora", "oiga", "ahorita", "inmediatamente", "de", "una", "vez", "todo",
    }
)  # fmt: skip

HELP = frozenset({"help", "info", "ayuda", "informacion"})
START = frozenset({"start", "unstop", "subscribe", "resubscribe"})

# Latin look-alikes from other scripts (Cyrillic, Greek) that NFKC leaves alone: "ЅТОР".
CONFUSABLES = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
        "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d",
        "α": "a", "ο": "o", "ρ": "p", "τ": "t", "ν": "v", "ε": "e", "κ": "k", "ι": "i",
    }
)  # fmt: skip
