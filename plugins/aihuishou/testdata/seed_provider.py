#!/usr/bin/env python3
"""A stand-in for the two Aihuishou APIs written from the provider's documents
alone (the enterprise API document and the item_get_inquir guide) and the
project's decisions in ../README.md, to check the Go adapter against an
implementation that shares no code with it. Standard library only.

    python3 seed_provider.py APP_ID APP_SECRET [QPS]

It listens on 127.0.0.1 (a free port), prints "PORT <n>" on stdout, and exits
when its stdin closes (the Go test holds the pipe) or after 120 seconds. QPS is
the enterprise API's calls a second per app (default 5, 0 = no limit).

Enterprise API (POST JSON, headers X-AppId / X-Sign):
  /api/valuation/get, /api/order/create, /api/order/getDetail.
  X-Sign = SHA-256 over every body parameter sorted by name, "k=v&k=v", the
  app_secret appended with no separator, hex UPPER. Values as plain text:
  strings raw, booleans true/false, numbers in shortest decimal form; nested
  objects, arrays and null are refused. Body "timestamp" yyyy-MM-dd HH:mm:ss
  in UTC+8, at most 5 minutes off.
item_get_inquir (POST form to /api/v2/item_get_inquir):
  app_id, timestamp (UTC+8), version=v2, sign = HMAC-SHA256(app_secret,
  sorted non-empty params but sign as "k=v&k=v" + "&secret=" + app_secret),
  hex lower.

Replies: {"code": 0, "msg": "success", "data": {...}}. Errors use the HTTP
status the 001 document's table gives (400 parameter or timestamp, 401
credentials or signature, 404 path or unknown model, 429 over QPS, 500 a
value out of range such as condition 报废) with the same number as "code".
Money is written as JSON numbers with two decimals (6800.00), computed with
decimal.Decimal, never float.
"""

import datetime
import hashlib
import hmac
import http.server
import json
import os
import re
import sys
import threading
import time
import urllib.parse
from decimal import ROUND_HALF_UP, Decimal

APP_ID, APP_SECRET = sys.argv[1], sys.argv[2]
QPS = int(sys.argv[3]) if len(sys.argv) > 3 else 5

CST = datetime.timezone(datetime.timedelta(hours=8))
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
MAX_SKEW = datetime.timedelta(minutes=5)
CENT = Decimal("0.01")

BRANDS = {"apple": "Apple", "苹果": "Apple", "huawei": "华为", "华为": "华为",
          "xiaomi": "小米", "小米": "小米"}

# Enterprise valuation: price of a device in good condition, working, original.
VALUATION_TABLE = {
    ("Apple", "iPhone 15 Pro", "256GB"): Decimal("6800.00"),
    ("Apple", "iPhone 14 Pro", "256GB"): Decimal("4120.00"),
    ("小米", "小米14", "512GB"): Decimal("2823.63"),
}
DEPOSIT = Decimal("50.00")
CONDITION_FACTOR = {"good": Decimal("1"), "normal": Decimal("0.85"), "poor": Decimal("0.6")}
ABNORMAL_FACTOR = Decimal("0.7")
NOT_ORIGINAL_FACTOR = Decimal("0.9")

# item_get_inquir: base price (no wear at all) and market coefficient.
INQUIRY_TABLE = {
    ("Apple", "iPhone 14 Pro", "256GB"): (Decimal("3137.37"), Decimal("1.00"), "AHS-IP14P-256"),
    ("Apple", "iPhone 15 Pro", "256GB"): (Decimal("7000.00"), Decimal("1.02"), "AHS-IP15P-256"),
    ("华为", "Mate 60 Pro", "512GB"): (Decimal("4200.00"), Decimal("1.05"), "AHS-M60P-512"),
}
INQUIRY_CONDITION = {"全新": Decimal("1.00"), "99新": Decimal("0.98"), "95新": Decimal("0.95"),
                     "九五新": Decimal("0.95"), "九成新": Decimal("0.90"), "八成新": Decimal("0.80"),
                     "七成新": Decimal("0.70"), "六成新": Decimal("0.60")}
FUNCTION_DEDUCTION = {"正常": Decimal("0"), "屏幕损坏": Decimal("450.00"),
                      "电池老化": Decimal("120.00"), "面容异常": Decimal("300.00")}
OTHER_FAULT_DEDUCTION = Decimal("200.00")
COMPUTER_TYPES = ("笔记本", "电脑", "笔记本电脑", "laptop", "computer")

LOCK = threading.Lock()
STATE = {"seq": 0, "valuations": {}, "orders": {}, "calls": []}


class Num(str):
    """A JSON number kept as the text the client wrote."""


class Refused(Exception):
    def __init__(self, status, msg):
        super().__init__(msg)
        self.status = status
        self.msg = msg


def money(d):
    """A placeholder json.dumps leaves as a string; reply() makes it a number."""
    return "\x00NUM" + str(d.quantize(CENT, rounding=ROUND_HALF_UP)) + "\x00"


def now_cst():
    return datetime.datetime.now(CST)


def fmt(t):
    return t.strftime("%Y-%m-%d %H:%M:%S")


def next_seq():
    with LOCK:
        STATE["seq"] += 1
        return STATE["seq"]


def check_timestamp(ts):
    if not isinstance(ts, str) or not TS_RE.match(ts):
        raise Refused(400, "timestamp must be yyyy-MM-dd HH:mm:ss")
    try:
        t = datetime.datetime.strptime(ts, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CST)
    except ValueError:
        raise Refused(400, "timestamp is not a date")
    if abs(now_cst() - t) > MAX_SKEW:
        raise Refused(400, "timestamp differs from server time by more than 5 minutes")


def plain_text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Num):
        d = Decimal(v)
        if d == d.to_integral_value():
            return str(int(d))
        return format(d.normalize(), "f")
    if isinstance(v, str):
        return v
    raise Refused(400, "nested or null values are not signed")


def enterprise_sign(params, secret):
    s = "&".join(f"{k}={plain_text(v)}" for k, v in sorted(params.items(), key=lambda x: x[0]))
    return hashlib.sha256((s + secret).encode("utf-8")).hexdigest().upper()


def inquiry_sign(params, secret):
    filtered = {k: v for k, v in params.items() if v and k != "sign"}
    s = "&".join(f"{k}={v}" for k, v in sorted(filtered.items(), key=lambda x: x[0]))
    s += f"&secret={secret}"
    return hmac.new(secret.encode("utf-8"), s.encode("utf-8"), hashlib.sha256).hexdigest().lower()


def no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise Refused(400, "duplicate parameter " + k)
        out[k] = v
    return out


def required(params, names):
    for n in names:
        v = params.get(n)
        if v is None or v == "":
            raise Refused(400, "missing parameter " + n)
        if not isinstance(v, str):
            raise Refused(400, n + " must be a string")


def rate_ok():
    if QPS <= 0:
        return True
    with LOCK:
        t = time.monotonic()
        STATE["calls"] = [c for c in STATE["calls"] if t - c < 1.0]
        if len(STATE["calls"]) >= QPS:
            return False
        STATE["calls"].append(t)
        return True


def valuation_get(p):
    required(p, ["device_model", "brand", "condition", "functional_status", "storage"])
    if p["condition"] not in CONDITION_FACTOR:
        raise Refused(400, "condition must be good, normal or poor")
    if p["functional_status"] not in ("normal", "abnormal"):
        raise Refused(400, "functional_status must be normal or abnormal")
    if "is_original" in p and not isinstance(p["is_original"], bool):
        raise Refused(400, "is_original must be a boolean")
    brand = BRANDS.get(p["brand"].lower(), p["brand"])
    base = VALUATION_TABLE.get((brand, p["device_model"], p["storage"]))
    if base is None:
        raise Refused(404, "model not listed: " + p["device_model"] + " " + p["storage"])
    price = base * CONDITION_FACTOR[p["condition"]]
    if p["functional_status"] == "abnormal":
        price *= ABNORMAL_FACTOR
    if p.get("is_original") is False:
        price *= NOT_ORIGINAL_FACTOR
    price = price.quantize(CENT, rounding=ROUND_HALF_UP)
    t = now_cst()
    vid = "VAL" + t.strftime("%Y%m%d") + "%03d" % next_seq()
    v = {"price": price, "valid": t + datetime.timedelta(days=2),
         "device_info": {"model": p["device_model"], "brand": p["brand"], "storage": p["storage"]}}
    with LOCK:
        STATE["valuations"][vid] = v
    return {
        "valuation_id": vid,
        "recycle_price": money(price),
        "deposit_price": money(DEPOSIT),
        "valid_time": fmt(v["valid"]),
        "remark": "屏幕无划痕、无拆修可维持此价格",
        "device_info": v["device_info"],
    }


def order_create(p):
    required(p, ["valuation_id", "user_name", "user_phone", "user_address", "logistics_type"])
    if p["logistics_type"] not in ("express", "store"):
        raise Refused(400, "logistics_type must be express or store")
    if re.search(r"\d{11}", p["user_phone"]):
        raise Refused(400, "user_phone must be masked")
    with LOCK:
        v = STATE["valuations"].get(p["valuation_id"])
    if v is None:
        raise Refused(404, "valuation not found")
    t = now_cst()
    if t > v["valid"]:
        raise Refused(400, "valuation expired")
    n = next_seq()
    order = {
        "order_no": "ORD" + t.strftime("%Y%m%d") + "%03d" % n,
        "express_no": None,
        "express_company": None,
        "store_info": None,
        "create_time": fmt(t),
        "status": "pending_send",
    }
    if p["logistics_type"] == "express":
        order["express_no"] = "YT%013d" % (1234567890000 + n)
        order["express_company"] = "圆通快递"
    else:
        order["store_info"] = {"store_name": "爱回收上海徐汇店", "address": "上海市徐汇区XX路1号",
                               "business_hours": "10:00-22:00"}
    detail = dict(order)
    detail.update({"valuation_id": p["valuation_id"], "user_name": p["user_name"],
                   "user_phone": p["user_phone"], "user_address": p["user_address"],
                   "logistics_type": p["logistics_type"], "recycle_price": money(v["price"]),
                   "device_info": v["device_info"]})
    with LOCK:
        STATE["orders"][order["order_no"]] = detail
    return order


def order_detail(p):
    required(p, ["order_no"])
    with LOCK:
        d = STATE["orders"].get(p["order_no"])
    if d is None:
        raise Refused(404, "order not found")
    return d


def item_get_inquir(p):
    if p.get("version") != "v2":
        raise Refused(400, "version must be v2")
    required(p, ["device_type", "brand", "model", "storage", "condition", "function_status"])
    if p["device_type"].lower() in COMPUTER_TYPES and not p.get("ram"):
        raise Refused(400, "ram is required for computers")
    if p["condition"] == "报废":
        raise Refused(500, "condition out of range: scrapped devices get no price")
    discount = INQUIRY_CONDITION.get(p["condition"])
    if discount is None:
        raise Refused(400, "unknown condition " + p["condition"])
    brand = BRANDS.get(p["brand"].lower(), p["brand"])
    row = INQUIRY_TABLE.get((brand, p["model"], p["storage"]))
    if row is None:
        raise Refused(404, "model not listed: " + p["model"] + " " + p["storage"])
    base, coef, device_id = row
    deduction = Decimal("0")
    for fault in re.split(r"[、,，/;；]", p["function_status"]):
        fault = fault.strip()
        if fault:
            deduction += FUNCTION_DEDUCTION.get(fault, OTHER_FAULT_DEDUCTION)
    final = ((base * discount - deduction) * coef).quantize(CENT, rounding=ROUND_HALF_UP)
    if final < 0:
        final = Decimal("0.00")
    t = now_cst()
    spec = p["storage"] + ("+" + p["ram"] if p.get("ram") else "")
    checks = ["屏幕显示", "屏幕坏点", "触控", "指纹识别", "面容识别", "前摄像头", "后摄像头", "闪光灯",
              "扬声器", "听筒", "麦克风", "振动", "WiFi", "蓝牙", "GPS", "NFC", "充电", "电池健康度",
              "按键", "机身外观", "维修记录", "账号锁"]
    return {
        "price_info": {
            "base_price": money(base),
            "condition_discount": money(discount),
            "function_deduction": money(deduction),
            "market_coefficient": money(coef),
            "final_price": money(final),
        },
        "recycle_info": {
            "recycle_type": "到店",
            "valid_time": fmt(t + datetime.timedelta(hours=24)),
            "store_distance": 2.4,
            "door_time_window": "10:00-12:00",
        },
        "device_info": {"model": p["model"], "brand": p["brand"], "storage": p["storage"],
                        "condition": p["condition"], "device_type": p["device_type"]},
        "device_id": device_id,
        "spec": spec,
        "quality_check": checks,
    }


ENTERPRISE = {"/api/valuation/get": valuation_get, "/api/order/create": order_create,
              "/api/order/getDetail": order_detail}


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, obj, status=200):
        text = json.dumps(obj, ensure_ascii=False)
        text = re.sub(r'"\\u0000NUM([0-9.\-]+)\\u0000"', r"\1", text)
        body = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def fail(self, status, msg):
        self.reply({"code": status, "msg": msg, "data": None}, status)

    def do_GET(self):
        self.fail(404, "every call is POST")

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        ctype = (self.headers.get("Content-Type") or "").lower()
        try:
            if path in ENTERPRISE:
                data = self.enterprise(path, raw, ctype)
            elif path == "/api/v2/item_get_inquir":
                data = self.inquiry(raw, ctype)
            else:
                raise Refused(404, "no such path " + path)
        except Refused as e:
            self.fail(e.status, e.msg)
            return
        self.reply({"code": 0, "msg": "success", "data": data})

    def enterprise(self, path, raw, ctype):
        if not ctype.startswith("application/json"):
            raise Refused(400, "Content-Type must be application/json")
        try:
            params = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates,
                                parse_int=Num, parse_float=Num)
        except (UnicodeDecodeError, ValueError):
            raise Refused(400, "body is not UTF-8 JSON")
        if not isinstance(params, dict):
            raise Refused(400, "body must be a JSON object")
        if self.headers.get("X-AppId") != APP_ID:
            raise Refused(401, "unknown X-AppId")
        sign = self.headers.get("X-Sign") or ""
        if not sign:
            raise Refused(401, "missing X-Sign")
        if sign != enterprise_sign(params, APP_SECRET):
            raise Refused(401, "invalid sign")
        check_timestamp(params.get("timestamp"))
        if not rate_ok():
            raise Refused(429, "Too Many Requests")
        return ENTERPRISE[path](params)

    def inquiry(self, raw, ctype):
        if not ctype.startswith("application/x-www-form-urlencoded"):
            raise Refused(400, "Content-Type must be application/x-www-form-urlencoded")
        try:
            pairs = urllib.parse.parse_qsl(raw.decode("utf-8"), keep_blank_values=True,
                                           strict_parsing=False, errors="strict")
        except (UnicodeDecodeError, ValueError):
            raise Refused(400, "form is not UTF-8")
        params = no_duplicates(pairs)
        for n in ("app_id", "timestamp", "version", "sign"):
            if not params.get(n):
                raise Refused(400, "missing parameter " + n)
        if params["app_id"] != APP_ID:
            raise Refused(401, "unknown app_id")
        if not hmac.compare_digest(params["sign"], inquiry_sign(params, APP_SECRET)):
            raise Refused(401, "invalid sign")
        check_timestamp(params["timestamp"])
        return item_get_inquir(params)


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 64  # a burst of connections must not wait for SYN retries


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    print("PORT", srv.server_address[1], flush=True)

    def watch_stdin():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    time.sleep(120)
    os._exit(0)


if __name__ == "__main__":
    main()
