"""Request signatures as apache/cloudstack checks them
(server/src/main/java/com/cloud/api/ApiServer.java, verifyRequest)."""
import base64
import datetime
import hashlib
import hmac
import re

# java.net.URLEncoder leaves these alone and turns a space into "+"; ApiServer then
# replaces "+" with "%20".
_UNRESERVED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-*_")


def java_urlencode(value):
    """URLEncoder.encode(value, "UTF-8").replaceAll("\\\\+", "%20")."""
    out = []
    for char in value:
        if char in _UNRESERVED:
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
    return "".join(out)


def unsigned_request(params):
    """Every parameter but `signature` (compared ignoring case), sorted by name as
    Collections.sort sorts Java strings, name=encoded value joined with "&"."""
    names = sorted((name for name in params if name.lower() != "signature"),
                   key=lambda name: name.encode("utf-16-be"))
    return "&".join(name + "=" + java_urlencode(params[name]) for name in names)


def compute(secret_key, params):
    """base64(HmacSHA1(secret, lowercased unsigned request))."""
    digest = hmac.new(secret_key.encode("utf-8"),
                      unsigned_request(params).lower().encode("utf-8"), hashlib.sha1)
    return base64.b64encode(digest.digest()).decode("ascii")


# DateUtil.parseTZDateString (utils/src/main/java/com/cloud/utils/DateUtil.java):
# ISO offset date-times, "+hhmm" zones, a plain "Z", and the legacy "Z+hhmm".
_EXPIRES = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?"
                      r"(Z|Z?[+-]\d\d:?\d\d)")


def parse_expires(text):
    """The instant `expires` names, or None when DateUtil could not parse it."""
    match = _EXPIRES.fullmatch(text)
    if not match:
        return None
    *fields, zone = match.groups()
    zone = zone.lstrip("Z") or "+00:00"
    sign = 1 if zone[0] == "+" else -1
    digits = zone[1:].replace(":", "")
    offset = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    try:
        moment = datetime.datetime(*map(int, fields))
    except ValueError:
        return None
    return (moment - sign * offset).replace(tzinfo=datetime.timezone.utc)
