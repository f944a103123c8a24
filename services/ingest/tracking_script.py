"""What the tag's routes send back: the 1x1 GIF and tag.js (CONTRACTS §13)."""

from __future__ import annotations

import base64
import json

# A 1x1 transparent GIF (42 bytes).
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")

# Dependency-free and small. The endpoint comes from the script's own URL, so it works behind
# any host or proxy. The body is sent as text/plain (a CORS-simple request: no preflight is
# needed for sendBeacon); when sendBeacon is missing or refuses, the pixel carries the fields.
_TAG_JS = """/* orderflow order tracking tag (CONTRACTS section 13) */
(function () {
  "use strict";
  var script = document.currentScript;
  var src = script && script.src ? script.src : "";
  var endpoint = src.replace(/\\/tag\\.js(\\?.*)?$/, "");
  var key = __KEY__;
  var names = ["order_id", "amount", "currency", "member_id", "click_id"];
  function send() {
    var order = window.orderflowOrder;
    if (!endpoint || !order || order.order_id === undefined || order.order_id === null) return;
    var fields = { key: key };
    for (var i = 0; i < names.length; i++) {
      var value = order[names[i]];
      if (value !== undefined && value !== null && value !== "") fields[names[i]] = String(value);
    }
    var body = JSON.stringify(fields);
    if (navigator.sendBeacon && navigator.sendBeacon(endpoint, body)) return;
    var query = [];
    for (var name in fields) {
      query.push(encodeURIComponent(name) + "=" + encodeURIComponent(fields[name]));
    }
    new Image(1, 1).src = endpoint + "/pixel.gif?" + query.join("&");
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", send);
  } else {
    send();
  }
})();
"""


def tag_js(publishable_key: str) -> str:
    """The tenant's tag; the key is public (CONTRACTS §13) and written as a JS string."""
    return _TAG_JS.replace("__KEY__", json.dumps(publishable_key))
