"""DKIM (RFC 6376, RFC 8301, RFC 8463): the key of each configured selector. checkdmarc has no
DKIM check, so this reads <selector>._domainkey.<domain> itself."""

import base64
import binascii
import re

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

from monitor.dns_audit.lookups import Lookups
from monitor.dns_audit.verdicts import FAIL, OK, WARN, Verdict, lookup_error, summarise

RSA_MINIMUM, RSA_GOOD = 1024, 2048  # RFC 8301: verifiers reject < 1024; 2048 is today's norm
ED25519_KEY_BYTES = 32


def parse_tags(record: str) -> dict[str, str]:
    """A DKIM tag list (RFC 6376 section 3.2): later duplicates ignored, whitespace dropped from values."""
    tags: dict[str, str] = {}
    for part in record.split(";"):
        if "=" not in part:
            continue
        name, _, value = part.partition("=")
        tags.setdefault(name.strip().lower(), re.sub(r"\s+", "", value))
    return tags


def check_dkim(domain: str, selector: str, lookups: Lookups) -> Verdict:
    check = f"dkim:{selector}"
    name = f"{selector}._domainkey.{domain}"
    txt = lookups.query(name, "TXT")
    if not txt.ok:
        return lookup_error(domain, check, txt)
    keys = sorted(r for r in txt.records if "p=" in r.replace(" ", "") or r.lstrip().lower().startswith("v=dkim1"))
    if not keys:
        return Verdict(
            domain, check, FAIL,
            f"No DKIM key at {name}: mail signed with selector {selector} fails DKIM. Publish the key your "
            "provider gave you, or remove the selector from this pool if it is no longer used.",
        )
    records = keys
    if len(keys) > 1:
        return Verdict(
            domain, check, FAIL,
            f"{name} holds {len(keys)} DKIM key records; verifiers may pick either and fail. Keep one.",
            records=records,
        )
    return _verdict(domain, selector, name, keys[0], records)


def _verdict(domain, selector, name, record, records) -> Verdict:
    check = f"dkim:{selector}"
    tags = parse_tags(record)
    details = {"tags": {k: v for k, v in tags.items() if k != "p"}}
    if "v" in tags and tags["v"] != "DKIM1":
        return Verdict(domain, check, FAIL, f"The DKIM record at {name} has v={tags['v']}; only DKIM1 is valid.",
                       records=records, details=details)
    if "p" not in tags:
        return Verdict(domain, check, FAIL, f"The DKIM record at {name} has no p= (public key) tag.",
                       records=records, details=details)
    if tags["p"] == "":
        return Verdict(
            domain, check, FAIL,
            f"The DKIM key of selector {selector} is revoked (empty p=): mail signed with it fails DKIM. "
            "If the selector is retired, remove it from this pool; otherwise publish its key.",
            records=records, details=details,
        )
    key_type = tags.get("k", "rsa").lower()
    try:
        key_bytes = base64.b64decode(tags["p"], validate=True)
    except (binascii.Error, ValueError):
        return Verdict(domain, check, FAIL, f"The DKIM key at {name} is not valid base64; verifiers cannot use it.",
                       records=records, details=details)

    findings = []
    if key_type == "rsa":
        try:
            key = load_der_public_key(key_bytes)
        except (ValueError, TypeError):
            key = None
        if not isinstance(key, rsa.RSAPublicKey):
            return Verdict(domain, check, FAIL,
                           f"The p= value at {name} is not an RSA public key; verifiers cannot check signatures.",
                           records=records, details=details)
        bits = key.key_size
        details["key"] = f"RSA {bits}"
        if bits < RSA_MINIMUM:
            return Verdict(domain, check, FAIL,
                           f"The DKIM key of selector {selector} is RSA {bits} bits; verifiers reject keys under "
                           f"{RSA_MINIMUM} bits (RFC 8301). Publish a {RSA_GOOD}-bit key.",
                           records=records, details=details)
        if bits < RSA_GOOD:
            findings.append(
                f"The DKIM key of selector {selector} is RSA {bits} bits: still accepted, but weak. "
                f"Rotate to a {RSA_GOOD}-bit key."
            )
    elif key_type == "ed25519":
        details["key"] = "Ed25519"
        if len(key_bytes) != ED25519_KEY_BYTES:
            return Verdict(domain, check, FAIL,
                           f"The Ed25519 key at {name} is {len(key_bytes)} bytes, not {ED25519_KEY_BYTES} (RFC 8463).",
                           records=records, details=details)
    else:
        return Verdict(domain, check, FAIL,
                       f"The DKIM key at {name} has key type k={key_type}, which verifiers do not know.",
                       records=records, details=details)

    flags = tags.get("t", "").lower().split(":")
    if "y" in flags:
        findings.append(
            f"Selector {selector} is in testing mode (t=y): verifiers may treat failures as if the mail were "
            "unsigned. Remove t=y once signing works."
        )
    hashes = [h.lower() for h in tags.get("h", "").split(":") if h]
    if hashes and "sha256" not in hashes:
        findings.append(f"Selector {selector} allows only {':'.join(hashes)}; RFC 8301 requires sha256.")
    details["findings"] = findings
    if findings:
        return Verdict(domain, check, WARN, summarise(findings), records=records, details=details)
    note = " (sign with an RSA key too: not every receiver verifies Ed25519)" if key_type == "ed25519" else ""
    return Verdict(domain, check, OK, f"Selector {selector} publishes a valid {details['key']} key{note}.",
                   records=records, details=details)
