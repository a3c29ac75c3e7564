#!/usr/bin/env python3
"""A stand-in for the used-car valuation API ("carvalue") written from the
provider's API page alone ("二手车估值(精准)") and the project's decisions in
../README.md, to check the Go adapter against an implementation that
shares no code with it. Standard library only.

    python3 seed_provider.py CONFIG_JSON

CONFIG_JSON: {"path": "/pyi/201/377",
              "accounts": [{"appid": "...", "secret": "...", "mode": "md5" | "hash"}]}

It listens on 127.0.0.1 (a free port), prints "PORT <n>" on stdout, and exits
when its stdin closes (the Go test holds the pipe) or after 120 seconds.

GET (query) or POST (form body, application/x-www-form-urlencoded) at the
configured path. appid, time (unix seconds; optional, within 10 minutes when
given), format (json; the only format this stand-in writes), sign:
  md5 mode:  md5(k1v1k2v2... + secret), keys sorted, empty values skipped,
             sign itself not included, hex lower case;
  hash mode: the secret itself.
Reply: {"codeid": 10000, "message": "返回成功", "retdata": {...}, "time": "..."}
with prices as JSON numbers in 万元. Status codes as the document's table:
10001 no appid, 10002 no sign, 10003 bad sign, 10004 time skew, 10005 wrong
appid, 10015 a required parameter missing, 10017 time not an integer,
10019 {info} (a value out of range), 10025 no data. Errors are HTTP 200, as
the document's examples read every reply as JSON.
"""

import hashlib
import http.server
import json
import os
import re
import sys
import threading
import time
import urllib.parse

CONFIG = json.loads(sys.argv[1])
PATH = CONFIG.get("path", "/pyi/201/377")
ACCOUNTS = {a["appid"]: a for a in CONFIG["accounts"]}
MAX_SKEW = 10 * 60

GRADES = {"car_color": 12, "car_accident": 3, "car_appearance": 4, "car_interior": 3,
          "car_electrical": 2, "car_engine": 4}
REQUIRED = ("car_type_id", "car_city_id", "car_first_regtime", "car_miles")

# Prices in hundredths of 万元 (100 yuan) for the document's example request
# (every grade 1, one transfer); a grade or transfer above or below the
# example moves each price by 0.10 万元 a point.
CARS = {
    "52": {"car_fullname": "奥迪 奥迪Q5L 2024款 40 TFSI 时尚动感型", "car_referprice": "39.88万",
           "car_EnvirStandard": "国VI", "personal": 2816, "purchase": 2668, "retail": 2964},
    "1024": {"car_fullname": "大众 朗逸 2021款 1.5L 自动风尚版", "car_referprice": "12.09万",
             "car_EnvirStandard": "国VI", "personal": 705, "purchase": 650, "retail": 782},
}
CITIES = {"101100": "宣城", "101010100": "北京"}
EXAMPLE_POINTS = 6  # accident + appearance + interior + electrical + engine + transfer in the example


def md5_sign(params, secret):
    s = "".join(k + v for k, v in sorted(params.items()) if k != "sign" and len(v) > 0)
    return hashlib.md5((s + secret).encode("utf-8")).hexdigest()


def wan(hundredths):
    return hundredths / 100  # 2816 -> 28.16, written by json as its shortest repr


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, codeid, message, retdata, stamp):
        body = json.dumps({"codeid": codeid, "message": message, "retdata": retdata,
                           "time": stamp}, ensure_ascii=False).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        self.handle_call(url.path, url.query)

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        ctype = (self.headers.get("Content-Type") or "").lower()
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        if not ctype.startswith("application/x-www-form-urlencoded"):
            self.reply(10019, "POST 请求需要设置Header头:Content-Type: application/x-www-form-urlencoded;charset=utf-8",
                       "", str(int(time.time())))
            return
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.reply(10019, "body is not UTF-8", "", str(int(time.time())))
            return
        self.handle_call(url.path, body)

    def handle_call(self, path, query):
        stamp = str(int(time.time()))
        if path != PATH:
            self.reply(10009, "api接口不存在", "", stamp)
            return
        try:
            pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, errors="strict")
        except (UnicodeDecodeError, ValueError):
            self.reply(10019, "parameters are not UTF-8", "", stamp)
            return
        params = {}
        for k, v in pairs:
            if k in params:
                self.reply(10015, "参数个数错误: duplicate " + k, "", stamp)
                return
            params[k] = v
        code, msg, data = self.call(params)
        if params.get("time", "").isdigit():
            stamp = params["time"]
        self.reply(code, msg, data, stamp)

    def call(self, p):
        appid = p.get("appid", "")
        if not appid:
            return 10001, "appid必须指定,可以我的应用里面查看", ""
        sign = p.get("sign", "")
        if not sign:
            return 10002, "sign值必须指定,加密规则请前往帮助中心查看", ""
        acct = ACCOUNTS.get(appid)
        if acct is None:
            return 10005, "appid错误,请检查appid值,前往会员中心->我的应用查看或添加", ""
        want = acct["secret"] if acct["mode"] == "hash" else md5_sign(p, acct["secret"])
        if sign != want:
            return 10003, "sign值验证不通过,加密规则请前往帮助中心查看", ""
        if p.get("time", "") != "":
            if not re.fullmatch(r"\d+", p["time"]):
                return 10017, "time必须是整型", ""
            if abs(int(time.time()) - int(p["time"])) > MAX_SKEW:
                return 10004, "时差不能超过10分钟,可以不传递这个参数,注意时间戳单位是秒", ""
        if p.get("format", "json") != "json":
            return 10019, "this stand-in answers format=json only", ""
        for k in REQUIRED:
            if p.get(k, "") == "":
                return 10015, "参数个数错误: " + k + " 必须指定", ""
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", p["car_first_regtime"]):
            return 10019, "car_first_regtime 格式为 年-月, 如 2022-01", ""
        if not re.fullmatch(r"\d+(\.\d+)?", p["car_miles"]):
            return 10019, "car_miles 单位:万, 如 3.62", ""
        points = 0
        for k, top in GRADES.items():
            v = p.get(k, "")
            if v == "":
                continue
            if not re.fullmatch(r"\d+", v) or int(v) > top:
                return 10019, "%s 可取整数范围0-%d" % (k, top), ""
            if k != "car_color":
                points += int(v)
        t = p.get("car_transfer", "")
        if t != "":
            if not re.fullmatch(r"\d+", t):
                return 10019, "car_transfer 过户次数为整数", ""
            points += int(t)
        car = CARS.get(p["car_type_id"])
        area = CITIES.get(p["car_city_id"])
        if car is None or area is None:
            return 10025, "查无数据", ""
        delta = (points - EXAMPLE_POINTS) * 10
        return 10000, "返回成功", {
            "car_fullname": car["car_fullname"],
            "car_personal": wan(max(car["personal"] - delta, 0)),
            "car_purchase": wan(max(car["purchase"] - delta, 0)),
            "car_retail": wan(max(car["retail"] - delta, 0)),
            "car_referprice": car["car_referprice"],
            "car_firstregtime": p["car_first_regtime"],
            "car_miles": p["car_miles"],
            "car_areaname": area,
            "car_EnvirStandard": car["car_EnvirStandard"],
            "car_calc": [],
        }


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
