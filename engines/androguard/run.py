#!/opt/androguard/bin/python
"""The androguard engine: what an APK declares and who signed it (PyPI
androguard, its APK parser; no network, nothing written but the job's files).

The report: the package (tag android.package), its version, SDK levels (min,
target, max) and main activity; its permissions (tag android.permission, each
with the protection level Android gives it); its components (activities,
services, receivers, providers: a table, with whether each is exported and its
intent filters); its signing certificates (subject, issuer, validity, SHA-256
and SHA-1 fingerprints, the schemes that carry them; tag android.certificate:
the SHA-256 fingerprint, lower-case hex); and its DEX files, each extracted as
a child (relation "dex", named classesN.dex), within a size bound. The result
is the report as JSON with the decoded AndroidManifest.xml.
"""
import hashlib
import os
import re
import struct
import sys
import zipfile

from loguru import logger
from menagerie_report import Report, fail
from androguard.util import get_certificate_name_string

# Each DEX file, and all of them together, at most this many bytes once unpacked.
MAX_DEX_BYTES = int(os.environ.get("ANDROGUARD_MAX_DEX_BYTES") or 256 * 1024 * 1024)
MAX_TOTAL_DEX_BYTES = int(os.environ.get("ANDROGUARD_MAX_TOTAL_DEX_BYTES") or 512 * 1024 * 1024)
DEX_NAME = re.compile(r"^classes(\d*)\.dex$")
COMPONENTS = (("activity", "get_activities"), ("service", "get_services"), ("receiver", "get_receivers"), ("provider", "get_providers"))

warnings = []


def quiet_androguard():
    """androguard logs every step at DEBUG through loguru: keep its warnings, for the report's notes."""
    logger.remove()
    logger.add(lambda message: warnings.append(" ".join(str(message).split())), level="WARNING", format="{message}")


def dex_order(name):
    number = DEX_NAME.match(name).group(1)
    return int(number) if number else 1


def dn(name):
    """A certificate's name as RFC 4514 writes it, most specific first: CN=..., OU=..., O=..., C=..."""
    native = name.native
    return get_certificate_name_string({k: native[k] for k in reversed(list(native))}, short=True)


def certificate_rows(apk):
    """Each signing certificate once, with the signature schemes that carry it."""
    found = {}
    for scheme, method in (("v1", "get_certificates_v1"), ("v2", "get_certificates_v2"), ("v3", "get_certificates_v3")):
        try:
            certificates = getattr(apk, method)() or []
        except Exception as e:  # a malformed signature block: say so, keep the rest
            warnings.append("the %s signature could not be read: %s" % (scheme, e))
            continue
        for c in certificates:
            if c is None:
                continue
            sha256 = hashlib.sha256(c.dump()).hexdigest()
            entry = found.setdefault(sha256, {"certificate": c, "schemes": []})
            entry["schemes"].append(scheme)
    rows = []
    for sha256, entry in found.items():
        c = entry["certificate"]
        try:
            key = "%s %d bits" % (c.public_key.algorithm.upper(), c.public_key.bit_size)
        except Exception:
            key = ""
        rows.append({
            "schemes": ", ".join(entry["schemes"]),
            "subject": dn(c.subject),
            "issuer": dn(c.issuer),
            "serial": "%x" % c.serial_number,
            "not_before": c.not_valid_before.isoformat(),
            "not_after": c.not_valid_after.isoformat(),
            "sha256": sha256,
            "sha1": hashlib.sha1(c.dump()).hexdigest(),
            "signature": "%s with %s" % (c.signature_algo, c.hash_algo),
            "key": key,
        })
    return rows


def component_rows(apk):
    rows = []
    for kind, method in COMPONENTS:
        for name in getattr(apk, method)() or []:
            exported = apk.get_attribute_value(kind, "exported", name=name)
            filters = apk.get_intent_filters(kind, name) if kind != "provider" else {}
            described = "; ".join("%s: %s" % (k, ", ".join(v)) for k, v in sorted((filters or {}).items()) if v)
            extra = apk.get_attribute_value(kind, "authorities", name=name) if kind == "provider" else None
            rows.append([kind, name, exported or "unset", described, extra or ""])
    return rows


def extract_dex(r, apk, path):
    """Each classesN.dex of the APK under children/, streamed within the bounds; rows for the DEX table."""
    rows, total = [], 0
    names = sorted(apk.get_dex_names(), key=dex_order)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        archive = None
    for name in names:
        try:
            declared = archive.getinfo(name).file_size if archive else 0
        except KeyError:
            declared = 0
        if declared > MAX_DEX_BYTES or total + declared > MAX_TOTAL_DEX_BYTES:
            r.note("%s is %d bytes unpacked, more than the engine extracts (%d bytes each, %d in all): not extracted" % (name, declared, MAX_DEX_BYTES, MAX_TOTAL_DEX_BYTES))
            rows.append([name, str(declared), "", "", "not extracted"])
            continue
        target = r.child_path(name)
        size, digest, whole = 0, hashlib.sha256(), True
        try:
            source = archive.open(name) if archive else None
        except (KeyError, zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError):
            source = None
        with open(target, "wb") as out:
            if source is None:  # a ZIP that Python's zipfile does not read (tampered headers): androguard's own reader
                data = apk.get_file(name)
                chunks = [data[i:i + (1 << 20)] for i in range(0, len(data), 1 << 20)]
            else:
                chunks = iter(lambda: source.read(1 << 20), b"")
            for chunk in chunks:
                if size + len(chunk) > MAX_DEX_BYTES or total + size + len(chunk) > MAX_TOTAL_DEX_BYTES:
                    whole = False
                    break
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        if not whole:
            os.unlink(target)
            r.note("%s is larger than the engine extracts (%d bytes each, %d in all): not extracted" % (name, MAX_DEX_BYTES, MAX_TOTAL_DEX_BYTES))
            rows.append([name, "> %d" % size, "", "", "not extracted"])
            continue
        total += size
        with open(target, "rb") as f:
            header = f.read(112)
        valid = header[:4] == b"dex\n" and len(header) >= 100
        classes = str(struct.unpack_from("<I", header, 96)[0]) if valid else ""
        version = header[4:7].decode("ascii", "replace") if valid else "not a DEX file"
        r.child(target, "dex", name)
        rows.append([name, str(size), digest.hexdigest(), version, classes])
    return rows


def main():
    r = Report("androguard")
    quiet_androguard()
    from androguard.core.apk import APK  # after the logger is quiet: it logs on import

    try:
        apk = APK(r.input_path)
    except Exception as e:  # not a ZIP, truncated, no manifest: a report that says so
        r.summary = "not an APK androguard can read: %s" % " ".join(str(e).split())[:200]
        r.kv("APK", [("Valid APK", "no"), ("androguard", "%s: %s" % (type(e).__name__, e))])
        r.finish()
        return 0
    if not apk.is_valid_APK():
        r.summary = "not a valid APK: no AndroidManifest.xml that androguard can decode"
        r.kv("APK", [("Valid APK", "no"), ("Files", str(len(apk.get_files())))])
        r.table("DEX files", ["name", "bytes", "sha256", "version", "classes"], extract_dex(r, apk, r.input_path))
        for w in warnings:
            r.note(w)
        r.finish()
        return 0

    package = apk.get_package() or ""
    r.tag("android.package", package)
    permissions = sorted(apk.get_permissions() or [])
    details = apk.get_details_permissions() or {}
    for p in permissions:
        r.tag("android.permission", p)
    certificates = certificate_rows(apk)
    for c in certificates:
        r.tag("android.certificate", c["sha256"])
    schemes = [s for s, signed in (("v1", apk.is_signed_v1()), ("v2", apk.is_signed_v2()), ("v3", apk.is_signed_v3())) if signed]

    r.kv("Package", [
        ("Package", package),
        ("Application", apk.get_app_name() or ""),
        ("Version name", apk.get_androidversion_name() or ""),
        ("Version code", apk.get_androidversion_code() or ""),
        ("Main activity", apk.get_main_activity() or ""),
        ("Min SDK", apk.get_min_sdk_version() or ""),
        ("Target SDK", apk.get_target_sdk_version() or ""),
        ("Max SDK", apk.get_max_sdk_version() or ""),
        ("Effective target SDK", str(apk.get_effective_target_sdk_version())),
        ("Signed", ", ".join(schemes) if schemes else "no"),
        ("Files", str(len(apk.get_files()))),
    ])
    rows = []
    for p in permissions:
        d = details.get(p) or []
        rows.append([p, d[0] if d else "", d[1] if len(d) > 1 else "", "requested"])
    declared = apk.get_declared_permissions_details() or {}
    rows += [[p, (d or {}).get("protectionLevel") or "", (d or {}).get("label") or "", "declared"] for p, d in sorted(declared.items())]
    r.table("Permissions", ["permission", "protection level", "label", "how"], rows)
    components = component_rows(apk)
    r.table("Components", ["kind", "name", "exported", "intent filters", "authorities"], components)
    r.table("Certificates", ["schemes", "subject", "issuer", "serial", "valid from", "valid until", "sha256", "sha1", "signature", "key"],
            [[c["schemes"], c["subject"], c["issuer"], c["serial"], c["not_before"], c["not_after"], c["sha256"], c["sha1"], c["signature"], c["key"]] for c in certificates])
    dex = extract_dex(r, apk, r.input_path)
    r.table("DEX files", ["name", "bytes", "sha256", "version", "classes"], dex)
    try:
        manifest = apk.get_android_manifest_axml().get_xml().decode("utf-8", "replace")
    except Exception as e:
        manifest = ""
        warnings.append("the manifest could not be printed: %s" % e)
    if manifest:
        r.text("AndroidManifest.xml", manifest)
    for w in warnings:
        r.note("androguard: %s" % w)

    counts = {kind: sum(1 for row in components if row[0] == kind) for kind, _ in COMPONENTS}
    dangerous = sum(1 for p in permissions if "dangerous" in ((details.get(p) or [""])[0] or ""))
    signer = certificates[0]["subject"] if certificates else ""
    r.summary = "%s %s: %d permission%s (%d dangerous), %s, %d DEX file%s, %s" % (
        package, apk.get_androidversion_name() or "", len(permissions), "" if len(permissions) == 1 else "s", dangerous,
        ", ".join("%d %s" % (n, kind if n == 1 else ("activities" if kind == "activity" else kind + "s")) for kind, n in counts.items()),
        len(dex), "" if len(dex) == 1 else "s",
        ("signed (%s) by %s" % (", ".join(schemes), signer)) if schemes else "not signed",
    )
    report = r.as_dict()
    r.finish(result={"report": report, "certificates": certificates, "android_manifest": manifest})
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit:
        raise
    except Exception as e:
        fail(3, "androguard failed: %s: %s" % (type(e).__name__, e))
