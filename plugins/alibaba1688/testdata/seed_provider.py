#!/usr/bin/env python3
"""A stand-in for the 1688 custom API written from the provider's article alone
("深入解析1688 Custom 自定义API操作接口"), in Python as the article's own example is, to check the Go
adapter against an implementation that shares no code with it.

    python3 seed_provider.py APP_KEY APP_SECRET

It listens on 127.0.0.1 (a free port), prints "PORT <n>" on stdout, and exits
when its stdin closes (the Go test holds the pipe) or after 120 seconds.

It parses the query with urllib.parse.parse_qs, recomputes the signature with
the document's generate_sign (urllib.parse.quote of str(v), sorted, "&secret="
appended, MD5, upper case) and answers the document's reply shape. item_get
returns a product whose title and SKU names hold spaces, slashes and Chinese
text; any call echoes the parameters it received under "echo" so the test can
see they decoded back to what the adapter meant to send. Standard library only.
"""

import hashlib
import http.server
import json
import os
import sys
import threading
import time
import urllib.parse


def generate_sign(params, app_secret):
    sorted_params = sorted(params.items(), key=lambda x: x[0])
    param_str = "&".join([f"{k}={urllib.parse.quote(str(v))}" for k, v in sorted_params])
    sign_str = param_str + "&secret=" + app_secret
    return hashlib.md5(sign_str.encode("utf-8")).hexdigest().upper()


APP_KEY, APP_SECRET = sys.argv[1], sys.argv[2]
PATH = "/openapi/portals/1688/1.0/json"


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, obj, status=200):
        body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != PATH:
            self.reply({"code": "404", "message": "no such path"}, 404)
            return
        multi = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        params = {k: v[0] for k, v in multi.items()}
        sign = params.pop("sign", "")
        for key in ("app_key", "api_name", "timestamp", "sign_method", "v", "format"):
            if key not in params:
                self.reply({"code": "400", "message": "missing " + key, "echo": params})
                return
        if params["app_key"] != APP_KEY:
            self.reply({"code": "401", "message": "invalid app_key"})
            return
        if sign != generate_sign(params, APP_SECRET):
            self.reply({"code": "402", "message": "invalid sign", "echo": params})
            return
        if params["sign_method"] != "md5" or params["v"] != "2.0" or params["format"] != "json":
            self.reply({"code": "400", "message": "bad public parameter", "echo": params})
            return
        if abs(int(time.time() * 1000) - int(params["timestamp"])) > 10 * 60 * 1000:
            self.reply({"code": "403", "message": "timestamp expired"})
            return
        api = params["api_name"]
        if api == "item_get":
            if params.get("num_iid") != "1234567890":
                self.reply({"code": "404", "message": "item not found", "echo": params})
                return
            self.reply({
                "code": "200",
                "message": "success",
                "echo": params,
                "item": {
                    "title": "Apple/苹果 iPhone 15 Pro 256GB 全网通5G手机 / 国行 正品",
                    "pic_url": "//cbu01.alicdn.com/img/ibank/O1CN01seed.jpg",
                    "price": "6999.00",
                    "sales": "1523",
                    "detail_url": "https://detail.1688.com/offer/1234567890.html",
                    "shop_name": "深圳 华强北 / 鑫源通讯",
                    "shop_url": "https://seed-shop.1688.com",
                    "sku": [
                        {"sku_id": "5001", "sku_name": "黑色钛金属 256GB", "sku_price": "6999.00"},
                        {"sku_id": "5002", "sku_name": "原色钛金属 / 512GB", "sku_price": "8499.10"},
                        {"sku_id": 5003, "sku_name": "白色钛金属 1TB", "sku_price": 9999.99},
                    ],
                },
            })
            return
        if api == "item_search":
            self.reply({
                "code": "200",
                "message": "success",
                "echo": params,
                "items": {"page": params.get("page", "1"), "total_results": 1, "item": [{
                    "num_iid": 1234567890,
                    "title": "搜索: " + params.get("q", ""),
                    "pic_url": "https://cbu01.alicdn.com/img/ibank/O1CN01seed.jpg",
                    "price": "12.50-18.00",
                    "sales": "2000+",
                    "detail_url": "https://detail.1688.com/offer/1234567890.html",
                }]},
            })
            return
        self.reply({"code": "400", "message": "unknown api_name " + api, "echo": params})


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
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
