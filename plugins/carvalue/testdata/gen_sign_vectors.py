#!/usr/bin/env python3
"""Computes the carvalue signature test vectors OUTSIDE Go.

Run from this folder:  python3 gen_sign_vectors.py   (writes sign_vectors.json)

The rule, from the provider's API page (see ../README.md): take every parameter but
`sign`, sort by key, skip empty values, concatenate key+value with no
separators, append the secret, MD5, hex, lower case. In "hash" mode the secret
itself is the sign. `time` is unix seconds; the vectors take it from a fixed
instant written in China Standard Time (UTC+8), whatever the machine's zone.
The form body is what a POST (or GET query) carries: every parameter including
sign, sorted by key, encoded as application/x-www-form-urlencoded (space as +).
"""
import hashlib
import json
import os
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

SECRET = "rgsandboxsecret000000000000000ab"  # the sandbox demo secret, 32 chars, fake
assert len(SECRET) == 32

CST = timezone(timedelta(hours=8))
T = int(datetime(2023, 11, 24, 15, 44, 4, tzinfo=CST).timestamp())  # 1700811844

DOC_EXAMPLE = {
    "appid": "1",
    "car_accident": "1",
    "car_appearance": "1",
    "car_city_id": "101100",
    "car_color": "2",
    "car_electrical": "1",
    "car_engine": "1",
    "car_first_regtime": "2022-01",
    "car_interior": "1",
    "car_miles": "3.62",
    "car_transfer": "1",
    "car_type_id": "52",
    "format": "json",
}


def md5_sign(params, secret):
    s = ""
    for k in sorted(params):
        v = params[k]
        if k == "sign" or len(v) == 0:
            continue
        s += k + v
    s += secret
    return s, hashlib.md5(s.encode("utf-8")).hexdigest()


def case(name, params, mode="md5", secret=SECRET, note=""):
    if mode == "md5":
        signing_string, sign = md5_sign(params, secret)
    else:
        signing_string, sign = "", secret
    with_sign = dict(params)
    with_sign["sign"] = sign
    body = urlencode(sorted(with_sign.items()))
    return {
        "name": name,
        "note": note,
        "mode": mode,
        "secret": secret,
        "params": params,
        "signing_string": signing_string,
        "sign": sign,
        "form": body,
    }


def with_(base, **kw):
    d = dict(base)
    d.update(kw)
    return d


cases = [
    case("document_example", DOC_EXAMPLE,
         note="the document's own parameter set, appid 1, no time (the document's sign string has none)"),
    case("document_example_with_time",
         with_(DOC_EXAMPLE, appid="rg-sandbox", time=str(T)),
         note="time from 2023-11-24 15:44:04 +08:00"),
    case("hash_mode", with_(DOC_EXAMPLE, appid="rg-sandbox", time=str(T)), mode="hash",
         note="hash mode: the secret itself is the sign"),
    case("zero_values_are_signed",
         with_(DOC_EXAMPLE, appid="rg-sandbox", time=str(T), car_accident="0", car_appearance="0",
               car_color="0", car_miles="0", car_transfer="0"),
         note="a value of 0 is not empty and is signed"),
    case("empty_values_skipped",
         with_(DOC_EXAMPLE, appid="rg-sandbox", time=str(T), car_color="", callback=""),
         note="empty values take no part in the signature"),
    case("jsonp_callback",
         with_(DOC_EXAMPLE, appid="rg-sandbox", time=str(T), format="jsonp", callback="jsonpReturn"),
         note="jsonp: callback is a parameter like any other and is signed"),
    case("xml_get",
         with_(DOC_EXAMPLE, appid="rg-sandbox", time=str(T), format="xml", car_miles="0.2"),
         note="2000 km is 0.2"),
    case("city_lookup_chinese_and_space",
         {"appid": "rg-sandbox", "time": str(T), "format": "json", "keyword": "宣城 市", "province": "安徽",
          "page": "1", "page_size": "20"},
         note="Chinese values are signed as UTF-8 bytes, a space as itself"),
    case("type_lookup",
         {"appid": "rg-sandbox", "time": str(T), "format": "json", "brand": "奥迪", "series": "奥迪Q5L",
          "year": "2024", "keyword": "", "page": "1", "page_size": "20"},
         note="car type look-up by brand, series and year; the empty keyword is skipped"),
    case("other_secret",
         with_(DOC_EXAMPLE, appid="10086", time=str(T)),
         secret="0123456789abcdef0123456789abcdef"),
]

out = {
    "generator": "gen_sign_vectors.py (python3, standard library only)",
    "time_instant": "2023-11-24T15:44:04+08:00",
    "time": T,
    "cases": cases,
}
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "sign_vectors.json"), "w", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False, indent=2)
    f.write("\n")
print("wrote", len(cases), "cases, time", T)
